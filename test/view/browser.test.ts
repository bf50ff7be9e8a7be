import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, launchChromium, type Browser } from './chromium.ts';
import { startCli, type CliProcess } from '../helpers/cli.ts';
import { SseReader } from './sse.ts';
import { writeLoopRecords } from './loop-records.ts';
import { freePort, startEmbeddedNats } from '../../runtime/bus/server.ts';
import { LooptoolNode } from '../../runtime/bus/node.ts';
import ping from '../../examples/ping-pong/ping.ts';
import pong from '../../examples/ping-pong/pong.ts';
import { pingContract } from '../../examples/ping-pong/contracts.ts';

// The browser tests: Debian's chromium, driven by playwright-core, watches runs made by
// `looptool seed` (round 0 over the bus: no policy worker needed) through `looptool view`
// started as a person starts it. The loop-driven checks are in browser-loop.test.ts.

const root = mkdtempSync(join(tmpdir(), 'looptool-browser-'));
const env = { LOOPTOOL_RUNS: root, LOOPTOOL_LOG_LEVEL: 'warn' };
let browser: Browser;
const procs: CliProcess[] = [];

function cli(args: string[]): CliProcess {
  const p = startCli(args, env);
  procs.push(p);
  return p;
}

/** `looptool view …` on a free port; resolves with its page URL. */
async function view(args: string[] = []): Promise<{ proc: CliProcess; url: string }> {
  const proc = cli(['view', '--port', '0', ...args]);
  const line = await proc.line(/looptool view: http:/, 60_000);
  return { proc, url: /(http:\/\/\S+)/.exec(line)![1]! };
}

const savedRuns = process.env.LOOPTOOL_RUNS;
/** Stops a viewer; the page leaves it first, so its retries do not count as page errors. */
async function stopView(v: { proc: CliProcess }): Promise<void> {
  await browser.page.goto('about:blank');
  v.proc.child.kill('SIGINT');
  await v.proc.exited;
}

before(async () => {
  // this process writes run records too (writeLoopRecords): into the same runs root
  process.env.LOOPTOOL_RUNS = root;
  browser = await launchChromium();
});
after(async () => {
  if (savedRuns === undefined) delete process.env.LOOPTOOL_RUNS;
  else process.env.LOOPTOOL_RUNS = savedRuns;
  for (const p of procs) p.child.kill('SIGKILL');
  await browser?.close();
  rmSync(root, { recursive: true, force: true });
});

const dataset = (key: string) => browser.page.evaluate((k) => document.body.dataset[k] ?? '', key);

test('a live seed run: `view` with no argument finds it, the stream grows, "user" shows what users said, the badge turns finished when it ends', async () => {
  const { page } = browser;
  const notFound: string[] = [];
  page.on('response', (r) => {
    if (r.status() === 404) notFound.push(r.url());
  });
  const seed = cli(['seed', '--dialogues', '400', '--concurrency', '4', '--out', join(root, 'seed-live')]);
  for (let i = 0; i < 600 && !existsSync(join(root, '.live', 'seed-live.json')); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(join(root, '.live', 'seed-live.json')), `the seed run announced itself: ${seed.output()}`);
  const v = await view();
  assert.match(v.proc.output(), /live run seed-live/);
  await page.goto(v.url);
  await page.waitForSelector('#status[data-status="live"]', { timeout: 30_000 });
  assert.equal(await dataset('run'), 'seed-live');

  // A run with dialogues shows the conversation view (the page turns to it by itself, which
  // restarts its list: so the growth below is counted after the turn).
  await page.waitForFunction(() => document.body.dataset.mode === 'conversation', undefined, { timeout: 20_000 });
  // The stream grows while the run goes on.
  await page.waitForFunction(() => document.body.dataset.msgsSynced === '1' && Number(document.body.dataset.msgTotal ?? 0) > 0, undefined, { timeout: 30_000 });
  const first = Number(await dataset('msgTotal'));
  await page.waitForFunction((n) => Number(document.body.dataset.msgTotal) > n + 20, first, { timeout: 60_000 });

  // "user" means what users said.
  await page.selectOption('#f-role', 'user');
  await page.waitForFunction(() => {
    const rows = Array.from(document.querySelectorAll('#msg-list .msg'));
    return rows.length > 3 && rows.every((r) => r.getAttribute('data-speaker') === 'user' && (r.querySelector('.d')?.textContent ?? '').length > 3);
  }, undefined, { timeout: 20_000 });
  // The protocol view still has the bus's own roles.
  await page.selectOption('#f-mode', 'protocol');
  await page.waitForFunction(() => document.querySelectorAll('#msg-list .msg[data-role="assistant"][data-kind="request"]').length > 0 || document.querySelectorAll('#msg-list .msg[data-kind="reply"]').length > 0, undefined, { timeout: 20_000 });
  // Clicking a message opens its dialogue as a conversation.
  await page.selectOption('#f-mode', 'conversation');
  await page.selectOption('#f-role', '');
  // The list is re-rendered every frame while messages arrive, so a row may be replaced
  // between Playwright's stability checks; a click is one event on the row shown now.
  // The first user row changes as messages arrive, and opening another dialogue drops the
  // one still loading: so a dialogue gets 5 s to load before another row is clicked.
  await page.waitForFunction(
    () => {
      if (document.querySelector('#transcript .bubble.role-user')) return true;
      const w = window as unknown as { lastRowClick?: number };
      if (!w.lastRowClick || Date.now() - w.lastRowClick > 5000) {
        const row = document.querySelector('#msg-list .msg[data-speaker="user"]') as HTMLElement | null;
        if (row) {
          row.click();
          w.lastRowClick = Date.now();
        }
      }
      return false;
    },
    undefined,
    { timeout: 45_000, polling: 250 },
  );
  await page.screenshot({ path: join(ARTIFACTS, 'live-seed.png'), fullPage: true });

  // The run ends: the badge says so, the CLI says so once.
  assert.equal(await seed.exited, 0, seed.output());
  await page.waitForSelector('#status[data-status="finished"]', { timeout: 30_000 }).catch(async (err: Error) => {
    await page.screenshot({ path: join(ARTIFACTS, 'live-seed-end.png'), fullPage: true });
    throw new Error(`${err.message}; badge "${await page.textContent('#status')}"; view said: ${v.proc.output()}`);
  });
  assert.equal(await dataset('ended'), 'finished');
  // (printed, as a rule, before the badge turned)
  await v.proc.line(/run seed-live finished/, 20_000, { printed: true });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(v.proc.output().match(/finished/g)?.length, 1, v.proc.output());
  assert.doesNotMatch(v.proc.output(), /"level"|warn/i, 'no log spam');
  await stopView(v);

  assert.deepEqual(notFound, [], 'nothing the page asked for was missing (favicon included)');
  assert.deepEqual(browser.external, [], 'the page fetched nothing from outside');
  assert.deepEqual(browser.consoleErrors, [], 'no errors in the page');
});

test('scrolling back through a finished run loads older messages, down to its first', async () => {
  const { page } = browser;
  assert.ok(existsSync(join(root, 'seed-live', 'nats')), 'the first test left its run');
  const v = await view(['--run', 'seed-live']);
  try {
    await page.goto(`${v.url}`);
    await page.waitForSelector('#status[data-status="finished"]', { timeout: 30_000 });
    await page.selectOption('#f-mode', 'protocol');
    await page.waitForFunction(() => document.body.dataset.msgsSynced === '1' && Number(document.body.dataset.msgTotal) >= 1500, undefined, { timeout: 30_000 });
    assert.equal(await dataset('msgMore'), '1', 'a long run opens on its newest messages, with older ones to load');
    const newestFirst = Number(await dataset('msgOldest'));
    // Scroll to the top until the run's first message is on the page.
    for (let i = 0; i < 400 && (await dataset('msgMore')) === '1'; i++) {
      const before = Number(await dataset('msgTotal'));
      await page.evaluate(() => {
        const box = document.querySelector('#msg-list')!;
        box.scrollTop = 0;
        box.dispatchEvent(new Event('scroll'));
      });
      await page.waitForFunction((n) => Number(document.body.dataset.msgTotal) > n || document.body.dataset.msgMore === '0', before, { timeout: 30_000 });
    }
    assert.equal(await dataset('msgMore'), '0');
    assert.ok(Number(await dataset('msgOldest')) < newestFirst);
    // Everything the stream holds for this filter is on the page now, once.
    const port = new URL(v.url).port;
    const all = new SseReader(`http://127.0.0.1:${port}/api/events?run=seed-live&slots=0&follow=0`);
    await all.done;
    assert.equal(Number(await dataset('msgTotal')), all.events().length);
    await page.screenshot({ path: join(ARTIFACTS, 'scrolled-back.png'), fullPage: true });
  } finally {
    await stopView(v);
  }
  assert.deepEqual(browser.consoleErrors, []);
});

test('a nested run opens by its folder; the charts label rounds as the report does, beside its sibling', async () => {
  const { page } = browser;
  // A demo's layout: <demo>/full and <demo>/static. The trace comes from a real seed run
  // in full/; the per-round records are written with the loop's own schemas and report
  // writer (runs of the loop itself need the policy worker: browser-loop.test.ts).
  const seed = cli(['seed', '--dialogues', '6', '--concurrency', '3', '--out', join(root, 'demo-b', 'full')]);
  assert.equal(await seed.exited, 0, seed.output());
  const report = writeLoopRecords(join(root, 'demo-b'), { rounds: 3 });
  const v = await view(['--run', 'demo-b/full']);
  try {
    assert.match(v.proc.output(), /finished run demo-b\/full/);
    await page.goto(v.url);
    await page.waitForSelector('#status[data-status="finished"]', { timeout: 30_000 });
    assert.equal(await dataset('run'), 'demo-b_full');
    await page.waitForFunction(() => Number(document.body.dataset.msgTotal) > 0, undefined, { timeout: 20_000 });
    const header = (await page.textContent('#counts')) ?? '';
    assert.doesNotMatch(header, /^0 roles/, header);

    // Composition: the same D_j as report.md lists, nothing more.
    await page.waitForSelector('#chart-composition.has-data svg rect', { timeout: 20_000 });
    const labels = await page.$$eval('#chart-composition .round-label', (ts) => ts.map((t) => t.textContent));
    const inReport = [...readFileSync(join(root, 'demo-b', 'full', 'report.md'), 'utf8').matchAll(/^\| (D_\d+) \|/gm)].map((m) => m[1]);
    assert.deepEqual(labels, inReport);
    assert.deepEqual(labels, report.composition.map((j) => `D_${j}`));

    // Accuracy: loop beside static, whole-number round ticks, intervals, the trivial baselines.
    await page.waitForSelector('#chart-accuracy.has-data svg circle', { timeout: 20_000 });
    const series = await page.$$eval('#chart-accuracy circle.point', (cs) => [...new Set(cs.map((c) => c.getAttribute('data-series')))]);
    assert.deepEqual(series.sort(), ['full', 'static']);
    const ticks = await page.$$eval('#chart-accuracy .round-tick', (ts) => ts.map((t) => t.textContent));
    assert.deepEqual(ticks, ['0', '1', '2', '3']);
    assert.ok((await page.locator('#chart-accuracy line.ci').count()) > 0, 'intervals drawn');
    const baselines = await page.$$eval('#chart-accuracy line.baseline', (ls) => ls.map((l) => l.getAttribute('data-name')));
    assert.deepEqual(baselines.sort(), ['always call', 'never call']);
    // Per kind of sample, from the same records.
    const kinds = await page.$$eval('#chart-kinds circle.point', (cs) => [...new Set(cs.map((c) => c.getAttribute('data-series')))]);
    assert.deepEqual(kinds.sort(), ['parallel', 'single']);
    await page.screenshot({ path: join(ARTIFACTS, 'nested-charts.png'), fullPage: true });
    // A point of the sibling's curve asks for the sibling's answers; these records hold none, and the panel says so.
    await page.dispatchEvent('#chart-accuracy circle.point[data-series="static"][data-round="1"]', 'click');
    await page.waitForFunction(() => /demo-b\/static: no round has answers on the test split yet/.test(document.querySelector('#answers-head')?.textContent ?? ''), undefined, { timeout: 20_000 });

    // The trace command agrees on the id.
    const trace = cli(['trace', '--run', 'demo-b/full']);
    assert.equal(await trace.exited, 0, trace.output());
    assert.match(trace.output(), / dialogue +message /);
    // One dialogue of it (`--dialogue`): what was said in it, its states and its verdict; nothing else.
    const all = cli(['trace', '--run', 'demo-b/full', '--json']);
    assert.equal(await all.exited, 0, all.output());
    const events = all.output().trim().split('\n').map((l) => JSON.parse(l) as { role: string; kind: string; trace?: string; data?: { dialogue?: string } });
    const id = events.find((e) => e.role === 'dialogue' && e.kind === 'message')!.data!.dialogue!;
    const of = (e: (typeof events)[number]) => e.trace === id || e.data?.dialogue === id;
    const one = cli(['trace', '--run', 'demo-b/full', '--json', '--dialogue', id]);
    assert.equal(await one.exited, 0, one.output());
    const got = one.output().trim().split('\n').map((l) => JSON.parse(l) as (typeof events)[number]);
    assert.equal(got.length, events.filter(of).length);
    assert.ok(got.every(of));
    assert.deepEqual([...new Set(got.map((e) => `${e.role}/${e.kind}`))].sort(), ['dialogue/message', 'dialogue/progress', 'dialogue/state']);
    const empty = cli(['trace', '--run', 'demo-b/full', '--dialogue', '']);
    assert.equal(await empty.exited, 2, empty.output());
    assert.match(empty.output(), /--dialogue must name a dialogue/);
  } finally {
    await stopView(v);
  }
  assert.deepEqual(browser.consoleErrors, []);
});

test('tiny numbers keep their sign and size on the axes', async () => {
  const { page } = browser;
  const v = await view(['--run', 'demo-b/full']);
  try {
    await page.goto(v.url);
    const labels = await page.evaluate(async (module) => {
      const { fmtNum } = (await import(module)) as { fmtNum: (v: number) => string };
      return [-1.6e-10, -0, 0, 0.25, 1234.5, 3e7].map(fmtNum);
    }, `${v.url}charts.js`);
    assert.deepEqual(labels, ['-1.6e-10', '0', '0', '0.25', '1235', '3.0e7']);
  } finally {
    await stopView(v);
  }
});

test('a lost bus shows on the page and is retried; the page comes back when the bus does, with one log line each way', async () => {
  const { page } = browser;
  const port = await freePort();
  const store = join(root, 'shared-bus', 'nats');
  let server = await startEmbeddedNats({ storeDir: store, port });
  const dir = join(root, 'shared-run');
  mkdirSync(dir, { recursive: true });
  // roles on a bus they did not start, as on a cluster: nothing announces the run
  const node = await LooptoolNode.start({ run: 'shared-run', runDir: dir, bus: { url: server.url, name: 'looptool-lost-test' } });
  try {
    await node.serve(ping);
    await node.serve(pong);
    await node.call(pingContract, 'rally', { shots: 2 });
    node.tracer.flush();
    const v = await view(['--run', 'shared-run', '--nats', server.url]);
    try {
      await page.goto(v.url);
      await page.waitForSelector('#status[data-status="live"]', { timeout: 30_000 });
      await page.selectOption('#f-mode', 'protocol');
      await page.waitForFunction(() => Number(document.body.dataset.msgTotal) > 0, undefined, { timeout: 20_000 });
      await server.stop();
      await page.waitForSelector('#status[data-status="disconnected"]', { timeout: 30_000 });
      assert.match((await page.textContent('#status')) ?? '', /retrying/);
      await new Promise((r) => setTimeout(r, 8000));
      server = await startEmbeddedNats({ storeDir: store, port });
      const before = Number(await dataset('msgTotal'));
      await page.waitForSelector('#status[data-status="live"]', { timeout: 60_000 });
      await node.call(pingContract, 'rally', { shots: 2 });
      node.tracer.flush();
      await page.waitForFunction((n) => Number(document.body.dataset.msgTotal) > n, before, { timeout: 30_000 });
      const out = v.proc.output();
      assert.ok((out.match(/lost the connection/g) ?? []).length <= 1, out);
      assert.ok(out.split('\n').filter((l) => /warn|"level"/i.test(l)).length <= 2, `no log spam:\n${out}`);
    } finally {
      await stopView(v);
    }
  } finally {
    await node.stop();
    await server.stop();
  }
});
