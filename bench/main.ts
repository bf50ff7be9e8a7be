import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench } from './result.ts';
import { UsageError } from '../runtime/cli/command.ts';

// Benchmarks are bench/<name>.bench.ts; `npm run bench -- <name> [args]`.
const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .sort();

const [name, ...rest] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- <${names.join('|')}> [options]`);
  process.exit(2);
}
const bench = ((await import(join(here, `${name}.bench.ts`))) as { default: Bench }).default;
// a bad flag is the caller's mistake: its message, not a stack trace
const result = await bench.run(rest).catch((e: Error) => {
  if (!(e instanceof UsageError)) throw e;
  console.error(`bench ${name}: ${e.message}`);
  process.exit(2);
});
console.log(JSON.stringify(result));
process.exit(result.pass ? 0 : 1);
