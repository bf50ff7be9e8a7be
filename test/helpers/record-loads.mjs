// `node --import tsx --import ./test/helpers/record-loads.mjs …`: appends the URL of every
// module the process loads to the file named by LOOPTOOL_RECORD_LOADS, one per line,
// before the module runs (a loader hook, so ES modules are seen too: Node keeps no list).
import { register } from 'node:module';

register('./record-loads-hooks.mjs', import.meta.url, { data: { file: process.env.LOOPTOOL_RECORD_LOADS } });
