import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startViewServer, type ViewServer } from '../../runtime/view/server.ts';
import { startPingPongRun, type PingPongRun } from './live-run.ts';
import { ARTIFACTS, launchChromium, type Browser } from './chromium.ts';
import { RunConfig } from '../../protocols/config.ts';
import { runLoop } from '../../runtime/loop/driver.ts';
import { TINY_LOOP_CONFIG } from '../loop/tiny.ts';

// The browser test: Debian's chromium, driven by playwright-core, watches a live run
// on the embedded default (its own nats-server) through `looptool view`'s server: the
// ping-pong roles rally, and a real closed loop (sim roles, the tiny policy trained by
// the PyTorch worker) runs one round while the page is open.

let live: PingPongRun;
let view: ViewServer;
let browser: Browser;

before(async () => {
  live = await startPingPongRun();
  view = await startViewServer({ nc: live.node.nc, live: true, run: live.run });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await view?.close();
  await live?.dispose();
});

test('messages arrive live, a real loop lights its states, charts render, nothing is fetched from outside', async () => {
  const { page } = browser;
  await live.rally(2);
  await page.goto(view.url);
  await page.waitForSelector('#status[data-status="live"]', { timeout: 20_000 });

  // Stored events first: the rally already played shows up.
  await page.waitForFunction(() => document.querySelectorAll('#msg-list .msg[data-role="pong"]').length >= 2, undefined, { timeout: 20_000 });
  const before = await page.locator('#msg-list .msg').count();

  // Live: a rally played now appears without reloading, rows coloured by role.
  await live.rally(3);
  await page.waitForFunction((n) => document.querySelectorAll('#msg-list .msg').length > n + 6, before, { timeout: 20_000 });
  const colors = await page.$$eval('#msg-list .msg', (rows) => [...new Set(rows.map((r) => `${r.getAttribute('data-role')}=${getComputedStyle(r).borderLeftColor}`))]);
  const byRole = new Map(colors.map((c) => c.split('=') as [string, string]));
  assert.ok(byRole.get('ping') && byRole.get('pong') && byRole.get('ping') !== byRole.get('pong'), `role colours: ${colors.join(' ')}`);

  // Every state the diagram lights is recorded in the page, however briefly it stays lit.
  assert.equal(await page.locator('#loop-svg .node.active').count(), 0);
  await page.evaluate(() => {
    const w = window as unknown as { __lit: string[] };
    w.__lit = [];
    new MutationObserver(() => {
      const s = document.querySelector('#loop-svg .node.active')?.getAttribute('data-state');
      if (s && w.__lit[w.__lit.length - 1] !== s) w.__lit.push(s);
    }).observe(document.querySelector('#loop-svg')!, { subtree: true, attributes: true, attributeFilter: ['class'] });
  });

  // The real loop, one round, on the same bus and run as the page watches.
  const config = RunConfig.parse({ ...TINY_LOOP_CONFIG, seed: 'view-test', loop: { ...TINY_LOOP_CONFIG.loop, rounds: 1 } });
  const loop = runLoop({ dir: join(live.dir, 'loop'), config, node: live.node });
  await page.waitForSelector('#loop-svg .node.active[data-state="training"]', { timeout: 120_000 });
  assert.match((await page.textContent('#loop-round')) ?? '', /round 1/);
  const result = await loop;
  assert.equal(result.status, 'done', result.error ?? '');
  live.node.tracer.flush();
  await page.waitForSelector('#loop-svg .node.active[data-state="done"]', { timeout: 20_000 });
  assert.equal(await page.locator('#loop-svg .node.active').count(), 1);
  // Stages that take a millisecond can start and end within one batch of events, so the
  // page may never paint them lit; what it painted must follow the machine's order, and
  // every stage of round 1 must be marked as passed.
  const order = ['seeding', 'warmup', 'baseline', 'training', 'probing', 'verifying', 'expanding', 'merging', 'evaluating', 'done'];
  const lit = await page.evaluate(() => (window as unknown as { __lit: string[] }).__lit);
  assert.deepEqual([...lit].sort((a, b) => order.indexOf(a) - order.indexOf(b)), lit, `lit in the machine's order: ${lit.join(' → ')}`);
  for (const s of ['seeding', 'training', 'done']) assert.ok(lit.includes(s), `${s} was lit: ${lit.join(' → ')}`);
  for (const s of order.slice(3, 9)) assert.equal(await page.locator(`#loop-svg .node.visited[data-state="${s}"]`).count(), 1, `${s} is marked as passed`);

  // Charts from the run's own events: the trainer's GRPO steps, accuracy of rounds 0
  // and 1, the composition of D_2 as the merge wrote it.
  await page.waitForSelector('#chart-grpo.has-data canvas', { timeout: 10_000 });
  await page.waitForSelector('#chart-composition.has-data svg rect', { timeout: 10_000 });
  await page.waitForSelector('#chart-accuracy.has-data canvas', { timeout: 10_000 });
  await page.waitForSelector('#charts-panel figure.generic[data-role="ping"] canvas', { timeout: 10_000 });
  const inked = await page.$eval('#chart-grpo canvas', (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
    return n;
  });
  assert.ok(inked > 200, `GRPO chart canvas has ${inked} painted pixels`);
  const merge = result.history.find((h) => h.stage === 'merging')?.summary as Record<string, number> | undefined;
  assert.ok(merge, 'the run merged D_2');
  const parts = ['seed', 'es', 'ee', 'hppl', 'seed_new', 'fill'].filter((k) => (merge[k] ?? 0) > 0).length;
  assert.equal(await page.locator('#chart-composition svg rect').count(), parts, `one rect per non-empty part of ${JSON.stringify(merge)}`);
  assert.match((await page.textContent('#chart-composition')) ?? '', /r2/);
  // The trainer's metrics mix a loss (~1) with token counts (thousands): the counts get
  // the right-hand axis, so uPlot lays out three axes (x, left, right), not two.
  await page.waitForSelector('#charts-panel figure.generic[data-role="trainer"] canvas', { timeout: 10_000 });
  assert.equal(await page.locator('#charts-panel figure.generic[data-role="trainer"] .u-axis').count(), 3, 'token counts on their own axis');

  // Server-side filters: only pong's events remain; a rally's request opens its trace.
  await page.selectOption('#f-role', 'pong');
  await page.waitForFunction(() => {
    const rows = Array.from(document.querySelectorAll('#msg-list .msg'));
    return rows.length > 0 && rows.every((r) => r.getAttribute('data-role') === 'pong');
  }, undefined, { timeout: 10_000 });
  await page.click('#msg-list .msg[data-role="pong"][data-kind="request"]');
  await page.waitForFunction(() => document.querySelectorAll('#transcript .tline').length >= 4, undefined, { timeout: 10_000 });
  // The loop's seed dialogues: one opens as chat bubbles.
  await page.selectOption('#f-role', 'dialogue');
  await page.click('#msg-list .msg[data-role="dialogue"][data-kind="message"]', { timeout: 10_000 });
  await page.waitForSelector('#transcript .bubble.role-user', { timeout: 10_000 });
  await page.waitForSelector('#transcript .bubble.role-assistant', { timeout: 10_000 });
  await page.selectOption('#f-role', '');
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(ARTIFACTS, 'live.png'), fullPage: true });
  // The README's picture of the viewer is this page: LOOPTOOL_UPDATE_DOCS=1 refreshes it.
  if (process.env.LOOPTOOL_UPDATE_DOCS === '1') await page.screenshot({ path: 'docs/viewer.png', fullPage: true });

  assert.deepEqual(browser.external, [], 'the page fetched nothing from outside');
  assert.deepEqual(browser.consoleErrors, [], 'no errors in the page');
});

test('a finished run replays in the page', async () => {
  const { page } = browser;
  await live.node.tracer.close();
  // Same server, but told the run is over: the page offers replay and replays at speed.
  const finished = await startViewServer({ nc: live.node.nc, live: false, run: live.run });
  try {
    await page.goto(finished.url);
    await page.waitForSelector('#status[data-status="finished"]', { timeout: 20_000 });
    await page.waitForSelector('#replay-controls:not([hidden])');
    await page.waitForSelector('#loop-svg .node.active[data-state="done"]', { timeout: 10_000 });
    await page.selectOption('#replay-speed', '1000');
    await page.click('#replay-btn');
    await page.waitForSelector('#loop-svg .node.active[data-state="done"]', { timeout: 20_000 });
    await page.waitForFunction(() => document.body.dataset.dashSynced === '1', undefined, { timeout: 20_000 });
    assert.ok((await page.locator('#msg-list .msg').count()) > 10);
    await page.screenshot({ path: join(ARTIFACTS, 'replay.png'), fullPage: true });
  } finally {
    await finished.close();
  }
  assert.deepEqual(browser.external, []);
});
