import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from '@nats-io/transport-node';
import { BusClient } from '../../runtime/bus/client.ts';
import { pingContract } from '../../examples/ping-pong/contracts.ts';
import { processAlive as alive } from '../../runtime/process.ts';
import { configFromFlags } from '../../runtime/cli/loop-console.ts';
import { demoConfig, PRESETS, smollm2Config } from '../../runtime/loop/preset.ts';
import { leafDifferences, type JsonObject } from '../../protocols/json.ts';
import { eventually } from '../helpers/eventually.ts';

const CLI = ['--import', 'tsx', 'runtime/cli/main.ts'];

function startCli(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; line(match: RegExp): Promise<string>; output(): string } {
  const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: { re: RegExp; resolve(l: string): void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    out += `${l}\n`;
    for (const w of waiters.splice(0)) (w.re.test(l) ? w.resolve(l) : waiters.push(w));
  });
  child.stderr!.on('data', (d) => (out += d.toString()));
  return {
    child,
    output: () => out,
    line: (re) =>
      new Promise((resolve, reject) => {
        waiters.push({ re, resolve });
        child.once('exit', (c) => reject(new Error(`exited ${c} before ${re}: ${out}`)));
      }),
  };
}

test('up serves roles from modules, agent adds replicas, trace replays the run, Ctrl-C stops everything', async () => {
  const runs = mkdtempSync(join(tmpdir(), 'looptool-cli-'));
  const env = { LOOPTOOL_RUNS: runs };
  const up = startCli(['up', '--run', 'clirun', '--module', 'examples/ping-pong/ping.ts'], env);
  let agent: ReturnType<typeof startCli> | undefined;
  try {
    await up.line(/serving \d+ role/);
    // `up` announces its run in the live-run registry, where `view`, `trace` and `agent` look.
    const bus = JSON.parse(readFileSync(join(runs, '.live', 'clirun.json'), 'utf8')) as { url: string; pid: number; run: string };
    assert.equal(bus.run, 'clirun');
    // pong joins from another process, as it would from another machine.
    agent = startCli(['agent', 'pong', '--module', 'examples/ping-pong/pong.ts', '--replicas', '2', '--nats', bus.url, '--run', 'clirun'], env);
    await agent.line(/serving pong x2/);
    const nc = await connect({ servers: bus.url });
    const client = new BusClient(nc, { run: 'clirun' });
    const out = await client.call(pingContract, 'rally', { shots: 4 });
    assert.deepEqual(out, { shots: 4, last: 'pong(shot 4)' });
    await nc.close();
    const traced = () => spawnSync(process.execPath, [...CLI, 'trace', '--run', 'clirun'], { env: { ...process.env, ...env, NO_COLOR: '1' }, encoding: 'utf8' });
    const hits = (out: string) => out.split('\n').filter((l) => / pong +request +hit/.test(l)).length;
    const trace = await eventually(traced, (t) => t.status !== 0 || (hits(t.stdout) >= 4 && / ping +reply +rally/.test(t.stdout)));
    assert.equal(trace.status, 0, trace.stderr);
    const lines = trace.stdout.trim().split('\n');
    assert.ok(lines.filter((l) => / pong +request +hit/.test(l)).length === 4, trace.stdout);
    assert.ok(lines.some((l) => / ping +reply +rally/.test(l)), trace.stdout);
    const natsPid = spawnSync('pgrep', ['-f', `${join(runs, 'clirun', 'nats')}/server.conf`], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number).filter(Boolean);
    assert.ok(natsPid.length >= 1, 'embedded server found');
    agent.child.kill('SIGINT');
    up.child.kill('SIGINT');
    const [codeUp] = await Promise.all([new Promise((r) => up.child.once('exit', r)), new Promise((r) => agent!.child.once('exit', r))]);
    assert.equal(codeUp, 0, up.output());
    assert.deepEqual(await eventually(() => natsPid.filter(alive), (l) => l.length === 0, 10_000), [], 'nats-server stopped with `up`');
    assert.ok(!existsSync(join(runs, '.live', 'clirun.json')), 'the live record is withdrawn when the run ends');
    assert.ok(bus.pid > 0);
  } finally {
    up.child.kill('SIGKILL');
    agent?.child.kill('SIGKILL');
    rmSync(runs, { recursive: true, force: true });
  }
});

test('up without the policy model built serves every other role and says why the trainer and policy are not served', async () => {
  const runs = mkdtempSync(join(tmpdir(), 'looptool-cli-'));
  const up = startCli(['up', '--run', 'nomodel', '--module', 'examples/ping-pong/ping.ts', '--module', 'examples/ping-pong/pong.ts'], { LOOPTOOL_RUNS: runs, LOOPTOOL_MODELS: join(runs, 'no-models') });
  try {
    // printed right after the serving line, so wait for it first
    assert.match(await up.line(/not serving/), /not serving trainer, policy: model preset "nano" is not built on this machine .*model init nano/);
    assert.match(up.output(), /serving 9 role\(s\): api-designer, planner, user, assistant, tool, judge, validator, ping, pong;/);
    const bus = JSON.parse(readFileSync(join(runs, '.live', 'nomodel.json'), 'utf8')) as { url: string };
    const nc = await connect({ servers: bus.url });
    assert.deepEqual(await new BusClient(nc, { run: 'nomodel' }).call(pingContract, 'rally', { shots: 2 }), { shots: 2, last: 'pong(shot 2)' });
    await nc.close();
    up.child.kill('SIGINT');
    assert.equal(await new Promise((r) => up.child.once('exit', r)), 0, up.output());
  } finally {
    up.child.kill('SIGKILL');
    rmSync(runs, { recursive: true, force: true });
  }
});

test('bad flags give a usage error with exit code 2', () => {
  const r = spawnSync(process.execPath, [...CLI, 'agent', '--replicas', 'x'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: looptool agent/);
  const u = spawnSync(process.execPath, [...CLI, 'nosuch'], { encoding: 'utf8' });
  assert.equal(u.status, 2);
  assert.match(u.stderr, /unknown command "nosuch"/);
  const d = spawnSync(process.execPath, [...CLI, 'demo', '--seed', ''], { encoding: 'utf8' });
  assert.equal(d.status, 2);
  assert.match(d.stderr, /--seed must not be empty[\s\S]*usage: looptool demo .*\[--rounds N\] \[--test-size N\] \[--seed S\]/);
  const t = spawnSync(process.execPath, [...CLI, 'ablate', '--test-size', '0'], { encoding: 'utf8' });
  assert.equal(t.status, 2);
  assert.match(t.stderr, /--test-size expects an integer 1\.\.100000, got "0"/);
  const p = spawnSync(process.execPath, [...CLI, 'ablate', '--preset', 'tiny'], { encoding: 'utf8' });
  assert.equal(p.status, 2);
  assert.match(p.stderr, /unknown preset "tiny" \(known: demo, smollm2\)/);
  const both = spawnSync(process.execPath, [...CLI, 'ablate', '--preset', 'demo', '--config', 'x.json'], { encoding: 'utf8' });
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--preset and --config are alternatives/);
});

test('--test-size sets the test split of the run config, over a config file or the preset', () => {
  assert.equal(configFromFlags({ 'test-size': '2500' }).loop.eval.testSize, 2500);
  assert.equal(configFromFlags({ 'test-size': '300' }, demoConfig).loop.eval.testSize, 300);
  assert.equal(configFromFlags({}, demoConfig).loop.eval.testSize, demoConfig().loop.eval.testSize);
  assert.throws(() => configFromFlags({ 'test-size': '2.5' }), /--test-size expects an integer/);
});

test('the smollm2 preset is the demo world with SmolLM2 and the budgets of the CPU pilot and room for its longer answers, nothing else', () => {
  const paths = leafDifferences([demoConfig() as JsonObject, smollm2Config() as JsonObject]).map((d) => d.path);
  assert.deepEqual(paths, [
    'loop.budget',
    'loop.eval.max_new_tokens',
    'loop.eval.testSize',
    'loop.probe.max_new_tokens',
    'loop.train.lr',
    'loop.train.max_new_tokens',
    'loop.warmup.batch_size',
    'loop.warmup.dialogues',
    'loop.warmup.epochs',
    'loop.warmup.lr',
    'seed',
    'trainer.micro_batch_tokens',
    'trainer.model.preset',
  ]);
  assert.equal(smollm2Config().trainer.model.preset, 'smollm2');
  assert.equal(configFromFlags({ 'test-size': '500' }, PRESETS.smollm2).loop.eval.testSize, 500);
});
