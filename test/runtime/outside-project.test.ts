import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { BusClient } from '../../runtime/bus/client.ts';
import { defineContract } from '../../protocols/role.ts';
import { startTestBus, type TestBus } from '../helpers/bus.ts';

/*
 * A role written in a project of its own, as docs/adding-a-role.md tells a researcher to:
 * the project depends on looptool (here its node_modules links to this checkout) and runs
 * the published entry point, bin/looptool.js. `npm init` makes a CommonJS package (no
 * "type": "module"), so the role's .ts file is CommonJS there; an ES module project is the
 * other case. Both must load and serve.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const ROLE = `import { defineContract, defineRole } from 'looptool';
import { z } from 'zod';

const echo = defineContract({
  name: 'echo',
  description: 'says what it was told, louder',
  verbs: { shout: { description: 'the text in capitals', input: z.object({ text: z.string() }), output: z.object({ text: z.string() }) } },
});

export default defineRole({ contract: echo, concurrency: 2, verbs: { shout: { handle: async ({ text }) => ({ text: text.toUpperCase() }) } } });
`;
const echo = defineContract({
  name: 'echo',
  description: 'says what it was told, louder',
  verbs: { shout: { description: 'the text in capitals', input: z.object({ text: z.string() }), output: z.object({ text: z.string() }) } },
});

let bus: TestBus;
let root: string;
before(async () => {
  bus = await startTestBus();
  root = mkdtempSync(join(tmpdir(), 'looptool-outside-'));
});
after(async () => {
  await bus?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

function project(name: string, packageJson: Record<string, unknown>): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, ...packageJson }));
  // what `npm install looptool zod` leaves: the package and the schema library beside it
  symlinkSync(ROOT, join(dir, 'node_modules', 'looptool'));
  symlinkSync(join(ROOT, 'node_modules', 'zod'), join(dir, 'node_modules', 'zod'));
  writeFileSync(join(dir, 'echo.ts'), ROLE);
  return dir;
}

async function serveAndCall(dir: string, run: string): Promise<void> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'looptool.js'), 'agent', 'echo', '--module', './echo.ts', '--nats', bus.server.url, '--run', run], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', LOOPTOOL_RUNS: join(root, 'runs') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  try {
    const serving = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (l) => {
        out += `${l}\n`;
        if (/^serving echo x1/.test(l)) resolve();
      });
      child.stderr!.on('data', (d) => (out += String(d)));
      child.once('exit', (code) => reject(new Error(`exited ${code} before serving: ${out}`)));
    });
    await serving;
    const client = new BusClient(await bus.connect(), { run });
    assert.deepEqual(await client.call(echo, 'shout', { text: 'from my own project' }), { text: 'FROM MY OWN PROJECT' });
  } finally {
    child.kill('SIGINT');
  }
}

test("a role module in a CommonJS project of its own (npm init's default) loads through the published entry point and serves", async () => {
  await serveAndCall(project('cjs-roles', {}), 'outside-cjs');
});

test('a role module in an ES module project of its own loads and serves', async () => {
  await serveAndCall(project('esm-roles', { type: 'module' }), 'outside-esm');
});
