#!/usr/bin/env node
// The published entry point: load TypeScript through tsx, then hand over to the CLI.
// Both of tsx's loaders: a role module (--module, a config's `roles`) in a project whose
// package.json has no "type": "module" is CommonJS, and only the CommonJS one compiles it.
import { register } from 'tsx/esm/api';
import { register as registerCommonJs } from 'tsx/cjs/api';

registerCommonJs();
register();
await import('../runtime/cli/main.ts');
