import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, launchChromium, type Browser } from './chromium.ts';
import { startCli, type CliProcess } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { TINY_LOOP_CONFIG } from '../loop/tiny.ts';

// The viewer on a real closed loop: `looptool run` (sim roles, the tiny policy trained by
// the PyTorch worker), nested as the demo nests its runs, watched by `looptool view` with
// no argument from its start to its end. Needs the policy worker (torch).

const root = mkdtempSync(join(tmpdir(), 'looptool-browser-loop-'));
const env = { LOOPTOOL_RUNS: root, LOOPTOOL_LOG_LEVEL: 'warn', LOOPTOOL_TORCH_THREADS: '1' };
let browser: Browser;
const procs: CliProcess[] = [];

before(async () => {
  browser = await launchChromium();
});
after(async () => {
  for (const p of procs) p.child.kill('SIGKILL');
  await browser?.close();
  rmSync(root, { recursive: true, force: true });
});

test('a live `looptool run` is found by `view` with no argument, lights its states, ends "finished", and its charts say what its report says', async () => {
  const { page } = browser;
  const config = join(root, 'tiny.json');
  writeFileSync(config, JSON.stringify({ ...TINY_LOOP_CONFIG, seed: 'view-loop', loop: { ...TINY_LOOP_CONFIG.loop, rounds: 2 } }));
  const run = startCli(['run', '--config', config, '--out', join(root, 'cmp-v', 'full'), '--quiet'], env);
  procs.push(run);
  for (let i = 0; i < 1200 && !existsSync(join(root, '.live', 'cmp-v_full.json')); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(join(root, '.live', 'cmp-v_full.json')), `the loop run announced itself: ${run.output()}`);

  const view = startCli(['view', '--port', '0'], env);
  procs.push(view);
  const url = /(http:\/\/\S+)/.exec(await view.line(/looptool view: http:/, 60_000))![1]!;
  assert.match(view.output(), /live run cmp-v\/full/);
  await page.goto(url);
  await page.waitForSelector('#status[data-status="live"]', { timeout: 30_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.run), 'cmp-v_full');
  // The stream grows: watched in the protocol view, whose events go on to the run's end. The
  // conversation view (where the page turns by itself) holds the seed dialogues only, which a
  // page opened late on a slow machine finds already whole.
  await page.selectOption('#f-mode', 'protocol');
  await page.waitForFunction(() => document.body.dataset.msgsSynced === '1' && Number(document.body.dataset.msgTotal ?? 0) > 0, undefined, { timeout: 120_000 });
  const first = Number(await page.evaluate(() => document.body.dataset.msgTotal));
  await page.waitForFunction((n) => Number(document.body.dataset.msgTotal) > n, first, { timeout: 120_000 });
  await page.waitForSelector('#loop-svg .node.active[data-state="training"]', { timeout: 600_000 });

  assert.equal(await run.exited, 0, run.output());
  await page.waitForSelector('#status[data-status="finished"]', { timeout: 30_000 });
  await page.waitForSelector('#loop-svg .node.active[data-state="done"]', { timeout: 30_000 });
  await eventually(() => view.output(), (o) => /run cmp-v\/full finished/.test(o), 20_000);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(view.output().match(/finished/g)?.length, 1, view.output());

  // Composition: D_1 … D_n exactly as report.md lists them.
  await page.waitForSelector('#chart-composition.has-data svg rect', { timeout: 20_000 });
  const labels = await page.$$eval('#chart-composition .round-label', (ts) => ts.map((t) => t.textContent));
  const inReport = [...readFileSync(join(root, 'cmp-v', 'full', 'report.md'), 'utf8').matchAll(/^\| (D_\d+) \|/gm)].map((m) => m[1]);
  assert.deepEqual(labels, inReport);
  assert.deepEqual(labels, ['D_1', 'D_2']);
  // Accuracy: whole rounds 0..2, with intervals.
  const ticks = await page.$$eval('#chart-accuracy .round-tick', (ts) => ts.map((t) => t.textContent));
  assert.deepEqual(ticks, ['0', '1', '2']);
  // GRPO steps drawn; a KL axis, when there is one, never reads "-0".
  await page.waitForSelector('#chart-grpo.has-data canvas', { timeout: 20_000 });
  const klTicks = await page.$$eval('#chart-kl .u-axis', (as) => as.map((a) => a.textContent ?? '').join(' '));
  assert.doesNotMatch(klTicks, /(^|\s)-0(\s|$)/);
  // One chart per quantity family: no trainer chart mixes a loss with token counts.
  const families = await page.$$eval('#charts-panel figure.generic', (fs) => fs.map((f) => `${f.getAttribute('data-role')}/${f.getAttribute('data-family')}`));
  assert.equal(new Set(families).size, families.length, families.join(' '));

  await page.screenshot({ path: join(ARTIFACTS, 'loop.png'), fullPage: true });
  // The README's picture of the viewer is this page: LOOPTOOL_UPDATE_DOCS=1 refreshes it.
  if (process.env.LOOPTOOL_UPDATE_DOCS === '1') await page.screenshot({ path: 'docs/viewer.png', fullPage: true });
  assert.deepEqual(browser.external, [], 'the page fetched nothing from outside');
  assert.deepEqual(browser.consoleErrors, [], 'no errors in the page');
});
