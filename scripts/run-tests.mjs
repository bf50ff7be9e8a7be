#!/usr/bin/env node
// Node 20's test runner does not expand globs, so we list the suites ourselves.
// Usage: node scripts/run-tests.mjs [substring-filter...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('test')
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// The tests load the nano preset from a model cache of their own: the smoke recipe of the
// real nano pipeline (runtime/models/nano.ts), built once per machine by
// test/helpers/nano-fixture.ts, beside a link to the machine's SmolLM2.
const home = process.env.LOOPTOOL_HOME || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'looptool');
const realModels = process.env.LOOPTOOL_MODELS || join(home, 'models');
const env = { ...process.env, LOOPTOOL_MODELS: join(home, 'test-models'), LOOPTOOL_REAL_MODELS: realModels, LOOPTOOL_NANO_RECIPE: 'smoke' };
const setup = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/nano-fixture.ts'], { stdio: 'inherit', env });
if (setup.status !== 0) {
  console.error('test set-up: the test nano model could not be built');
  process.exit(setup.status ?? 1);
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...files],
  { stdio: 'inherit', env },
);
process.exit(r.status ?? 1);
