import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startViewServer, type ViewServer } from '../../runtime/view/server.ts';
import { startPingPongRun, type PingPongRun } from './live-run.ts';
import { ARTIFACTS, launchChromium, type Browser } from './chromium.ts';

// The browser test: Debian's chromium, driven by playwright-core, watches a live run
// on the embedded default (its own nats-server) through `looptool view`'s server.

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

/** Publishes what the loop machine publishes on entering a stage: a state trace event of role `loop`. */
function loopEnters(to: string, from: string, round: number): void {
  live.node.tracer.emit({ role: 'loop', kind: 'state', actor: 'loop', data: { from, to, round } });
  live.node.tracer.flush();
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
  loopEnters('seeding', 'idle', 0);
  await page.waitForSelector('#loop-svg .node.active[data-state="seeding"]', { timeout: 10_000 });
  loopEnters('training', 'seeding', 1);
  await page.waitForSelector('#loop-svg .node.active[data-state="training"]', { timeout: 10_000 });
  assert.equal(await page.locator('#loop-svg .node.active').count(), 1);
  assert.match((await page.textContent('#loop-round')) ?? '', /round 1/);

  // Charts: the trainer's GRPO step metrics and ping's own metrics render as canvases with ink on them.
  for (let step = 1; step <= 6; step++) live.node.tracer.emit({ role: 'trainer', kind: 'metric', data: { step, reward: step / 8, kl: 0.01 * step } });
  live.node.tracer.emit({ role: 'loop', kind: 'metric', data: { round: 1, composition: { ES: 40, EE: 120, HPPL: 60, seedNew: 80 } } });
  live.node.tracer.flush();
  await page.waitForSelector('#chart-grpo.has-data canvas', { timeout: 10_000 });
  await page.waitForSelector('#charts-panel figure.generic[data-role="ping"] canvas', { timeout: 10_000 });
  await page.waitForSelector('#chart-composition.has-data svg rect', { timeout: 10_000 });
  const inked = await page.$eval('#chart-grpo canvas', (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
    return n;
  });
  assert.ok(inked > 200, `GRPO chart canvas has ${inked} painted pixels`);
  assert.equal(await page.locator('#chart-composition svg rect').count(), 4);

  // A message opens its dialogue (here: the rally's trace) in the transcript.
  await page.click('#msg-list .msg[data-role="pong"][data-kind="request"]');
  await page.waitForFunction(() => document.querySelectorAll('#transcript .tline, #transcript .bubble').length >= 4, undefined, { timeout: 10_000 });

  // Server-side filter: only pong's events remain.
  await page.selectOption('#f-role', 'pong');
  await page.waitForFunction(() => {
    const rows = Array.from(document.querySelectorAll('#msg-list .msg'));
    return rows.length > 0 && rows.every((r) => r.getAttribute('data-role') === 'pong');
  }, undefined, { timeout: 10_000 });
  await page.selectOption('#f-role', '');

  loopEnters('probing', 'training', 1);
  await page.waitForSelector('#loop-svg .node.active[data-state="probing"]', { timeout: 10_000 });
  assert.equal(await page.locator('#loop-svg .node.visited[data-state="training"]').count(), 1);
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(ARTIFACTS, 'live.png'), fullPage: true });

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
