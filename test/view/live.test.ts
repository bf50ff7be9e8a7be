import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveRuns, publicUrl, resolveRunName, runIdForDir, RunNameError } from '../../runtime/live-runs.ts';
import { locateTrace, nextLiveRun } from '../../runtime/bus/trace-locate.ts';
import { startViewServer } from '../../runtime/view/server.ts';
import { LooptoolNode } from '../../runtime/bus/node.ts';
import { startPingPongRun } from './live-run.ts';
import { SseReader } from './sse.ts';
import { byTime } from '../../runtime/view/source.ts';
import type { TraceEvent } from '../../protocols/trace.ts';
import { startCli } from '../helpers/cli.ts';

// The live-run registry and what `view`/`trace` do with it, against real nats-servers:
// runs are announced in this file's own runs root.
const root = mkdtempSync(join(tmpdir(), 'looptool-live-'));
const saved = process.env.LOOPTOOL_RUNS;
before(() => {
  process.env.LOOPTOOL_RUNS = root;
});
after(() => {
  if (saved === undefined) delete process.env.LOOPTOOL_RUNS;
  else process.env.LOOPTOOL_RUNS = saved;
  rmSync(root, { recursive: true, force: true });
});

test('a node that opens its own bus announces its run while it is up; a dead process is ignored', async () => {
  const run = await startPingPongRun('announced', [], { root });
  try {
    const live = liveRuns();
    const mine = live.find((r) => r.run === 'announced');
    assert.ok(mine, JSON.stringify(live));
    assert.equal(mine.pid, process.pid);
    assert.equal(mine.dir, run.dir);
    assert.equal(mine.embedded, true);
    assert.match(mine.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    // a record left behind by a killed process (its pid gone) is not a live run
    writeFileSync(join(root, '.live', 'ghost.json'), JSON.stringify({ ...mine, run: 'ghost', pid: 2 ** 22 - 7 }));
    assert.ok(!liveRuns().some((r) => r.run === 'ghost'));
  } finally {
    await run.dispose();
  }
  assert.ok(!existsSync(join(root, '.live', 'announced.json')), 'withdrawn when the node stops');
});

test('run ids: nested runs get ids of their own; names outside the runs root are refused; URLs lose their credentials', () => {
  assert.equal(runIdForDir(join(root, 'demo-x', 'full')), 'demo-x_full');
  assert.equal(runIdForDir(join(root, 'seed-1')), 'seed-1');
  assert.equal(runIdForDir('/elsewhere/my run'), 'my-run');
  assert.throws(() => resolveRunName('../outside'), RunNameError);
  assert.throws(() => resolveRunName('/etc'), RunNameError);
  assert.equal(publicUrl('nats://looptool:s3cret@nats-1:4222,nats://tok@nats-2:4222'), 'nats://nats-1:4222,nats://nats-2:4222');
});

test('view --run ../<dir> is refused and never touches that store', async () => {
  const outside = mkdtempSync(join(tmpdir(), 'looptool-outside-'));
  try {
    mkdirSync(join(outside, 'nats', 'jetstream'), { recursive: true });
    await assert.rejects(locateTrace({ run: `../${outside.split('/').pop()}` }), /outside the runs directory/);
    assert.ok(!existsSync(join(outside, 'nats', 'server.conf')), 'no server.conf written outside runs/');
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

test('a nested run (<parent>/full) opens by its folder or its id, and its trace is filed under that id', async () => {
  const dir = join(root, 'demo-n', 'full');
  mkdirSync(dir, { recursive: true });
  const run = runIdForDir(dir);
  const node = await LooptoolNode.start({ run, runDir: dir, bus: { name: 'looptool-nested-test' } });
  node.publish({ role: 'loop', kind: 'metric', data: { stage: 'evaluating', round: 0, accuracy: 0.5, n: 10 } });
  await node.stop();
  // listening beyond loopback is allowed, with a warning: the page has no login
  const wide = startCli(['view', '--run', 'demo-n/full', '--host', '0.0.0.0', '--port', '0'], { LOOPTOOL_RUNS: root });
  await wide.line(/looptool view: http:/, 60_000);
  assert.match(wide.output(), /warning: --host 0\.0\.0\.0 serves the trace/);
  wide.child.kill('SIGINT');
  assert.equal(await wide.exited, 0);
  const list = startCli(['view', '--list'], { LOOPTOOL_RUNS: root });
  assert.equal(await list.exited, 0);
  assert.match(list.output(), /finished +demo-n\/full +\(id demo-n_full\)/);
  for (const name of ['demo-n/full', 'demo-n_full']) {
    const source = await locateTrace({ run: name });
    try {
      assert.equal(source.live, false);
      assert.equal(source.run, 'demo-n_full');
      assert.equal(source.label, 'demo-n/full');
      const view = await startViewServer({ nc: source.nc, live: false, run: source.run, label: source.label, dir: source.dir });
      try {
        const info = (await (await fetch(`${view.url}api/info`)).json()) as { run: string; label: string; runs: Record<string, unknown> };
        assert.equal(info.run, 'demo-n_full');
        assert.equal(info.label, 'demo-n/full');
        assert.ok(info.runs['demo-n_full'], 'the page opens on the id its events carry');
        const s = new SseReader(`${view.url}api/events?run=${info.run}&follow=0`);
        await s.done;
        assert.equal(s.events().length, 1);
      } finally {
        await view.close();
      }
    } finally {
      await source.close();
    }
  }
});

test('view with no argument watches the newest live run; its end is told once, streams stop, older events stay readable', async () => {
  const run = await startPingPongRun(`endrun-${Date.now().toString(36)}`, [], { root });
  let stopped = false;
  try {
    await run.rally(3);
    const source = await locateTrace({});
    assert.equal(source.live, true);
    assert.equal(source.run, run.run);
    const ends: string[] = [];
    const view = await startViewServer({ ...source, liveRun: source.liveRun, onEnd: (e) => ends.push(e.status) });
    try {
      const follow = new SseReader(`${view.url}api/events?run=${run.run}&follow=1`);
      await follow.until(() => follow.has('synced'), 10_000, 'synced');
      const t = Date.now();
      await run.rally(2);
      await follow.until(() => follow.events().some((e) => e.ts >= t), 10_000, 'live events');
      await run.stop();
      stopped = true;
      await follow.done;
      const end = follow.messages.find((m) => m.event === 'end');
      assert.deepEqual((end?.data as { ended: { status: string } }).ended.status, 'finished');
      assert.deepEqual(ends, ['finished'], 'told once');
      const info = (await (await fetch(`${view.url}api/info`)).json()) as { live: boolean; ended: { status: string } };
      assert.equal(info.live, false);
      assert.equal(info.ended.status, 'finished');
      // The run's own server went with it: the viewer reads its store now.
      let all: SseReader | undefined;
      for (let i = 0; i < 40; i++) {
        all = new SseReader(`${view.url}api/events?run=${run.run}&follow=0`);
        await all.done;
        if (all.events().length > 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const events = all!.events();
      assert.ok(events.length > 20, `${events.length} events from the store`);
      // Paging back: the 5 events before the newest one's time, from the stream.
      const last = [...events].sort(byTime).at(-1)!;
      const older = (await (await fetch(`${view.url}api/older?run=${run.run}&before=${last.ts}&beforeId=${last.id}&limit=5`)).json()) as { events: TraceEvent[]; more: boolean };
      assert.equal(older.events.length, 5);
      assert.ok(older.more);
      const expected = [...events].sort(byTime).slice(-6, -1).map((e) => e.id);
      assert.deepEqual(older.events.map((e) => e.id), expected, 'the five just before the newest, in order');
      const bad = await fetch(`${view.url}api/older?run=${run.run}&before=soon`);
      assert.equal(bad.status, 400);
    } finally {
      await view.close();
      await source.close();
    }
  } finally {
    if (!stopped) await run.stop();
    await run.dispose();
  }
});

test('trace --follow with no run follows the newest live run and says once when it ends', async () => {
  const run = await startPingPongRun(`follow-${Date.now().toString(36)}`, [], { root });
  try {
    const trace = startCli(['trace', '--follow'], { LOOPTOOL_RUNS: root });
    await trace.line(/following run/, 60_000);
    const err = () => trace.output();
    assert.match(err(), new RegExp(`following run ${run.run}`));
    const hit = trace.line(/ pong +request +hit/, 20_000);
    await run.rally(2);
    await hit;
    await run.stop();
    assert.equal(await trace.exited, 0, err());
    assert.equal(err().match(/finished/g)?.length, 1, err());
  } finally {
    await run.dispose();
  }
});

test('a loop that fails ends the view as "failed" with its reason', async () => {
  const run = await startPingPongRun(`failing-${Date.now().toString(36)}`, [], { root });
  let stopped = false;
  try {
    const source = await locateTrace({ run: run.run });
    assert.equal(source.live, true, 'a live run is read from its bus, not from its store');
    const view = await startViewServer({ ...source, liveRun: source.liveRun });
    try {
      const follow = new SseReader(`${view.url}api/events?run=${run.run}&kind=state&follow=1`);
      await follow.until(() => follow.has('synced'), 10_000, 'synced');
      // what the loop driver publishes when its machine stops in `failed`
      run.node.publish({ role: 'loop', kind: 'state', actor: `loop/${run.run}`, data: { to: 'failed', round: 1, error: 'training: the worker died' } });
      run.node.tracer.flush();
      // stored and delivered (the view's own watch reads the same stream: a moment more for it)
      await follow.until(() => follow.events().some((e) => (e.data as { to?: string }).to === 'failed'), 10_000, 'the failed state');
      await new Promise((r) => setTimeout(r, 500));
      await run.stop();
      stopped = true;
      await follow.done;
      const end = follow.messages.find((m) => m.event === 'end')?.data as { ended: { status: string; reason: string } };
      assert.deepEqual([end.ended.status, end.ended.reason], ['failed', 'training: the worker died']);
    } finally {
      await view.close();
      await source.close();
    }
  } finally {
    if (!stopped) await run.stop();
    await run.dispose();
  }
});

test('a run killed with SIGKILL ends the view as "failed": its process exited without closing the run', async () => {
  const seed = startCli(['seed', '--dialogues', '400', '--concurrency', '2', '--out', join(root, 'killed')], { LOOPTOOL_RUNS: root });
  try {
    for (let i = 0; i < 600 && !existsSync(join(root, '.live', 'killed.json')); i++) await new Promise((r) => setTimeout(r, 100));
    const source = await locateTrace({});
    assert.equal(source.run, 'killed');
    const view = await startViewServer({ ...source, liveRun: source.liveRun });
    try {
      const follow = new SseReader(`${view.url}api/events?run=killed&kind=progress&follow=1`);
      await follow.until(() => follow.events().length > 0, 60_000, 'a finished dialogue');
      seed.child.kill('SIGKILL');
      await follow.done;
      const end = follow.messages.find((m) => m.event === 'end')?.data as { ended: { status: string; reason: string } };
      assert.equal(end.ended.status, 'failed');
      assert.match(end.ended.reason, /exited without closing the run/);
      assert.ok(!liveRuns().some((r) => r.run === 'killed'), 'its stale record is not a live run');
    } finally {
      await view.close();
      await source.close();
    }
  } finally {
    seed.child.kill('SIGKILL');
  }
});

test("watching the live run follows a demo into its next variant: full ends, static takes over", async () => {
  const node = async (variant: string) => {
    const dir = join(root, 'demo-f', variant);
    mkdirSync(dir, { recursive: true });
    const n = await LooptoolNode.start({ run: runIdForDir(dir), runDir: dir, bus: { name: 'looptool-next-test' } });
    n.publish({ role: 'loop', kind: 'state', data: { stage: 'seeding', round: 0, phase: 'start' } });
    n.tracer.flush();
    return n;
  };
  const full = await node('full');
  let stat: LooptoolNode | undefined;
  const source = await locateTrace({});
  assert.equal(source.run, 'demo-f_full');
  const view = await startViewServer({ ...source, liveRun: source.liveRun, next: (ended, signal) => nextLiveRun(ended, { waitMs: 30_000, signal }) });
  try {
    await full.stop();
    stat = await node('static');
    let info = { run: '', live: false };
    for (let i = 0; i < 100 && !(info.run === 'demo-f_static' && info.live); i++) {
      await new Promise((r) => setTimeout(r, 200));
      info = (await (await fetch(`${view.url}api/info`)).json()) as typeof info;
    }
    assert.deepEqual([info.run, info.live], ['demo-f_static', true]);
    const s = new SseReader(`${view.url}api/events?run=demo-f_static&follow=1`);
    await s.until(() => s.has('synced') && s.events().length > 0, 10_000, 'the static run\'s events');
    await stat.stop();
    await s.done;
    assert.equal((s.messages.find((m) => m.event === 'end')?.data as { ended: { status: string } }).ended.status, 'finished');
  } finally {
    await view.close();
    await source.close();
    await stat?.stop();
  }
});
