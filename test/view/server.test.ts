import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { startViewServer, type ViewServer } from '../../runtime/view/server.ts';
import { locateTrace } from '../../runtime/bus/trace-locate.ts';
import { startPingPongRun, type PingPongRun } from './live-run.ts';
import { SseReader } from './sse.ts';
import { LOOP_STAGES } from '../../protocols/loop/stages.ts';

let live: PingPongRun;
let view: ViewServer;

before(async () => {
  live = await startPingPongRun();
  view = await startViewServer({ nc: live.node.nc, live: true, run: live.run });
});
after(async () => {
  await view?.close();
  await live?.dispose();
});

const url = (path: string) => `${view.url}${path.replace(/^\//, '')}`;

test('the page and its assets are served locally; nothing points outside', async () => {
  const res = await fetch(url('/'));
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /connect-src 'self'/);
  const html = await res.text();
  assert.match(html, /<script src="\/vendor\/uplot.js">/);
  // Every asset the page names is served by us and exists.
  const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(assets.length >= 4);
  for (const a of assets) {
    assert.ok(a.startsWith('/'), `asset ${a} is not local`);
    const r = await fetch(url(a));
    assert.equal(r.status, 200, a);
    await r.arrayBuffer();
  }
  // No file of the page refers to another host.
  const pub = join(import.meta.dirname, '../../runtime/view/public');
  for (const f of readdirSync(pub)) {
    // The SVG namespace is a name, not a fetch.
    const text = readFileSync(join(pub, f), 'utf8').replaceAll("'http://www.w3.org/2000/svg'", '').replaceAll('"http://www.w3.org/2000/svg"', '');
    const external = [...text.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/gi)].map((m) => m[0]);
    assert.deepEqual(external, [], `${f} refers to ${external.join(', ')}`);
  }
  // The chart library is the npm package's own file.
  const vendor = await (await fetch(url('/vendor/uplot.js'))).text();
  assert.equal(vendor, readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'));
  assert.equal((await fetch(url('/../package.json'))).status, 404);
  assert.equal((await fetch(url('/%2e%2e/package.json'))).status, 404);
  // an overlong UTF-8 dot-dot is a bad request, not a server error
  assert.equal((await fetch(url('/%c0%ae%c0%ae/%c0%ae%c0%ae/package.json'))).status, 400);
  // the icon is ours: no 404 on every page load
  const icon = await fetch(url('/favicon.ico'));
  assert.equal(icon.status, 200);
  assert.match(await icon.text(), /<svg/);
});

test('a request naming another host is refused (DNS rebinding)', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: view.port, path: '/api/info', headers: { host: 'evil.example:80' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 403);
});

test('a bad filter is refused with the field named', async () => {
  const res = await fetch(url('/api/events?kind=request,bogus&tail=-3'));
  assert.equal(res.status, 400);
  const body = (await res.json()) as { error: string; issues: { path: string }[] };
  const paths = body.issues.map((i) => i.path).join(' ');
  assert.match(paths, /kind/);
  assert.match(paths, /tail/);
  const bad = await fetch(url('/api/events?role=a.b'));
  assert.equal(bad.status, 400);
});

test('stored events come back filtered by role and kind, in time order, then synced and end', async () => {
  const out = await live.rally(3);
  assert.equal(out.shots, 3);
  // Slots go idle just after the last reply; let those state events reach the stream too.
  await new Promise((r) => setTimeout(r, 150));
  await live.node.tracer.close();
  const pongs = new SseReader(url(`/api/events?run=${live.run}&role=pong&follow=0`));
  await pongs.done;
  const evs = pongs.events();
  assert.ok(evs.length > 0);
  assert.ok(evs.every((e) => e.role === 'pong' && e.run === live.run));
  assert.equal(evs.filter((e) => e.kind === 'request').length, 3, 'three hits reached pong');
  assert.deepEqual(evs.map((e) => e.ts), [...evs.map((e) => e.ts)].sort((a, b) => a - b));
  assert.ok(pongs.has('synced') && pongs.has('end'), 'synced and end');

  const metrics = new SseReader(url(`/api/events?run=${live.run}&kind=metric,error&follow=0`));
  await metrics.done;
  const m = metrics.events();
  assert.deepEqual(m.map((e) => [e.role, e.kind, (e.data as { shot: number }).shot]), [1, 2, 3].map((s) => ['ping', 'metric', s]));

  // Mailbox slot states are in the stream, and left out on request.
  const withSlots = new SseReader(url(`/api/events?run=${live.run}&kind=state&follow=0`));
  const noSlots = new SseReader(url(`/api/events?run=${live.run}&kind=state&slots=0&follow=0`));
  await Promise.all([withSlots.done, noSlots.done]);
  assert.ok(withSlots.events().length >= 6, `slot states: ${withSlots.events().length}`);
  assert.equal(noSlots.events().length, 0);

  // A dialogue (here: one rally's trace id) filter keeps only that trace.
  const trace = evs[0]!.trace!;
  const one = new SseReader(url(`/api/events?run=${live.run}&dialogue=${trace}&follow=0`));
  await one.done;
  const inTrace = evs.filter((e) => e.trace === trace).length;
  assert.ok(inTrace >= 6 && one.events().length > inTrace, `one trace: ${one.events().length}, pong's share ${inTrace}`);
  assert.ok(one.events().every((e) => e.trace === trace));

  // tail keeps the newest N.
  const all = new SseReader(url(`/api/events?run=${live.run}&follow=0`));
  const tail = new SseReader(url(`/api/events?run=${live.run}&follow=0&tail=5`));
  await Promise.all([all.done, tail.done]);
  assert.equal(tail.events().length, 5);
  assert.deepEqual(tail.events().map((e) => e.id), all.events().slice(-5).map((e) => e.id));
  const synced = tail.messages.find((x) => x.event === 'synced')!.data as { stored: number; dropped: number };
  assert.equal(synced.stored + synced.dropped, all.events().length);
});

test('a follow stream says synced, then delivers live events as they happen', async () => {
  const s = new SseReader(url(`/api/events?run=${live.run}&kind=metric&follow=1`));
  try {
    await s.until(() => s.has('synced'), 10_000, 'synced');
    const before = s.events().length;
    await live.rally(2);
    await s.until(() => s.events().length >= before + 2, 10_000, 'two live metrics');
    const fresh = s.events().slice(before);
    assert.deepEqual(fresh.map((e) => (e.data as { shot: number }).shot), [1, 2]);
    const syncedAt = s.messages.findIndex((m) => m.event === 'synced');
    assert.ok(s.messages.findLastIndex((m) => m.event === 'events') > syncedAt);
  } finally {
    s.close();
  }
});

test('/api/info summarizes the stream by run, role and kind', async () => {
  const info = (await (await fetch(url('/api/info'))).json()) as { run: string; live: boolean; runs: Record<string, { roles: Record<string, number>; kinds: Record<string, number> }> };
  assert.equal(info.run, live.run);
  assert.equal(info.live, true);
  const r = info.runs[live.run]!;
  assert.ok(r.roles.ping && r.roles.pong);
  assert.ok(r.kinds.request && r.kinds.metric && r.kinds.state);
});

test('/api/loop-stages serves the stages of the loop machine in order, split into the prelude and a round', async () => {
  const got = (await (await fetch(url('/api/loop-stages'))).json()) as { stages: string[]; prelude: string[]; round: string[] };
  assert.deepEqual(got.stages, [...LOOP_STAGES]);
  assert.deepEqual([...got.prelude, ...got.round], got.stages);
  assert.deepEqual(got.prelude, ['seeding', 'warmup', 'baseline']);
});

test('a finished run is replayed from its store: no follow, paced replay keeps order', async () => {
  const other = await startPingPongRun();
  try {
    await other.rally(4);
    await other.stop();
    const saved = process.env.LOOPTOOL_RUNS;
    process.env.LOOPTOOL_RUNS = other.root;
    let source;
    try {
      await assert.rejects(locateTrace({ run: other.run, follow: true }), /not live/);
      source = await locateTrace({ run: other.run });
    } finally {
      if (saved === undefined) delete process.env.LOOPTOOL_RUNS;
      else process.env.LOOPTOOL_RUNS = saved;
    }
    assert.equal(source.live, false);
    const replay = await startViewServer({ nc: source.nc, live: source.live, run: other.run });
    try {
      const info = (await (await fetch(`${replay.url}api/info`)).json()) as { live: boolean; runs: Record<string, unknown> };
      assert.equal(info.live, false);
      assert.ok(info.runs[other.run]);
      // follow=1 is ignored for a finished run: the stream ends after the stored events.
      const s = new SseReader(`${replay.url}api/events?run=${other.run}&kind=metric&follow=1`);
      await s.done;
      assert.equal(s.events().length, 4);
      assert.ok(s.has('end'));
      const started = Date.now();
      const paced = new SseReader(`${replay.url}api/events?run=${other.run}&replay=1000`);
      await paced.done;
      assert.ok(Date.now() - started < 10_000);
      const evs = paced.events();
      assert.deepEqual(evs.map((e) => e.ts), [...evs.map((e) => e.ts)].sort((a, b) => a - b));
      assert.ok((paced.messages.find((m) => m.event === 'synced')!.data as { replayed: boolean }).replayed);
    } finally {
      await replay.close();
      await source.close();
    }
  } finally {
    await other.dispose();
  }
});
