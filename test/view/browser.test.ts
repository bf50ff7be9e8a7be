import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startViewServer, type ViewServer } from '../../runtime/view/server.ts';
import { startPingPongRun, type PingPongRun } from './live-run.ts';
import { ARTIFACTS, launchChromium, type Browser } from './chromium.ts';
import { seedRoles } from '../../agents/registry.ts';
import { RunConfig } from '../../protocols/config.ts';
import { runSeed } from '../../runtime/seed.ts';

// The browser test: Debian's chromium, driven by playwright-core, watches a live run
// on the embedded default (its own nats-server) through `looptool view`'s server.

let live: PingPongRun;
let view: ViewServer;
let browser: Browser;

before(async () => {
  live = await startPingPongRun(undefined, seedRoles);
  view = await startViewServer({ nc: live.node.nc, live: true, run: live.run });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await view?.close();
  await live?.dispose();
});

// Until the trainer role lands, `looptool run` cannot go past seeding, so the loop's
// own events are published here exactly as runtime/loop/driver.ts and the trainer
// publish them: a state event on entering a stage, a metric event with each stage's
// summary, one metric event per GRPO step.
function loopEnters(stage: string, round: number): void {
  live.node.tracer.emit({ role: 'loop', kind: 'state', actor: `loop/${live.run}`, data: { stage, round, phase: 'start' } });
  live.node.tracer.flush();
}
function stageDone(stage: string, round: number, summary: Record<string, number>): void {
  live.node.tracer.emit({ role: 'loop', kind: 'metric', actor: `loop/${live.run}`, data: { stage, round, ...summary } });
}

test('messages arrive live, the loop state moves, charts render, nothing is fetched from outside', async () => {
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

  // The loop diagram lights the state the loop reports, and moves with it.
  assert.equal(await page.locator('#loop-svg .node.active').count(), 0);
  loopEnters('seeding', 0);
  await page.waitForSelector('#loop-svg .node.active[data-state="seeding"]', { timeout: 10_000 });
  // Real round-0 dialogues, live: the dialogue machine over the bus with the sim roles.
  const seeded = await runSeed({ node: live.node, runDir: join(live.dir, 'seed'), config: RunConfig.parse({ seed: 'view-test' }), dialogues: 3, concurrency: 3 });
  assert.equal(seeded.finished, 3);
  await page.waitForSelector('#msg-list .msg[data-role="dialogue"][data-kind="message"]', { timeout: 10_000 });
  stageDone('baseline', 0, { accuracy: 0.25, n: 8 });
  loopEnters('training', 1);
  await page.waitForSelector('#loop-svg .node.active[data-state="training"]', { timeout: 10_000 });
  assert.equal(await page.locator('#loop-svg .node.active').count(), 1);
  assert.match((await page.textContent('#loop-round')) ?? '', /round 1/);

  // Charts: the trainer's GRPO step metrics and ping's own metrics render as canvases with ink on them.
  for (let step = 1; step <= 8; step++)
    live.node.tracer.emit({ role: 'trainer', kind: 'metric', data: { step, round: 1, epoch: 0, reward_mean: 0.2 + 0.5 * Math.sqrt(step / 8), reward_std: 0.3, kl: 0.002 * step * step, loss: 0.5 - step / 40 } });
  stageDone('training', 1, { samples: 12, steps: 8, reward_first: 0.3, reward_last: 0.7, reward_mean: 0.5 });
  stageDone('merging', 1, { total: 12, seed: 0, es: 3, ee: 4, hppl: 3, seed_new: 2, fill: 0, duplicates: 0 });
  stageDone('evaluating', 1, { accuracy: 0.375, n: 8 });
  live.node.tracer.flush();
  await page.waitForSelector('#chart-grpo.has-data canvas', { timeout: 10_000 });
  await page.waitForSelector('#charts-panel figure.generic[data-role="ping"] canvas', { timeout: 10_000 });
  await page.waitForSelector('#chart-composition.has-data svg rect', { timeout: 10_000 });
  await page.waitForSelector('#chart-accuracy.has-data canvas', { timeout: 10_000 });
  const inked = await page.$eval('#chart-grpo canvas', (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
    return n;
  });
  assert.ok(inked > 200, `GRPO chart canvas has ${inked} painted pixels`);
  // D_2's composition: one rect per non-empty part of the merge, stacked in the bar of round 2.
  assert.equal(await page.locator('#chart-composition svg rect').count(), 4);
  assert.match((await page.textContent('#chart-composition')) ?? '', /r2/);

  // A rally's message opens its trace; a dialogue's message opens the dialogue as chat bubbles.
  await page.click('#msg-list .msg[data-role="pong"][data-kind="request"]');
  await page.waitForFunction(() => document.querySelectorAll('#transcript .tline').length >= 4, undefined, { timeout: 10_000 });
  await page.click('#msg-list .msg[data-role="dialogue"][data-kind="message"]');
  await page.waitForSelector('#transcript .bubble.role-user', { timeout: 10_000 });
  await page.waitForSelector('#transcript .bubble.role-assistant', { timeout: 10_000 });

  // Server-side filter: only pong's events remain.
  await page.selectOption('#f-role', 'pong');
  await page.waitForFunction(() => {
    const rows = Array.from(document.querySelectorAll('#msg-list .msg'));
    return rows.length > 0 && rows.every((r) => r.getAttribute('data-role') === 'pong');
  }, undefined, { timeout: 10_000 });
  await page.selectOption('#f-role', '');

  loopEnters('probing', 1);
  await page.waitForSelector('#loop-svg .node.active[data-state="probing"]', { timeout: 10_000 });
  assert.equal(await page.locator('#loop-svg .node.visited[data-state="training"]').count(), 1);
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
    await page.waitForSelector('#loop-svg .node.active[data-state="probing"]', { timeout: 10_000 });
    await page.selectOption('#replay-speed', '1000');
    await page.click('#replay-btn');
    await page.waitForSelector('#loop-svg .node.active[data-state="probing"]', { timeout: 20_000 });
    await page.waitForFunction(() => document.body.dataset.dashSynced === '1', undefined, { timeout: 20_000 });
    assert.ok((await page.locator('#msg-list .msg').count()) > 10);
    await page.screenshot({ path: join(ARTIFACTS, 'replay.png'), fullPage: true });
  } finally {
    await finished.close();
  }
  assert.deepEqual(browser.external, []);
});
