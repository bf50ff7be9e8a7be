import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RunConfig } from '../protocols/config.ts';
import type { AnyRoleImpl } from '../protocols/role.ts';
import { AssistantContract, RespondInput } from '../protocols/roles/assistant.ts';
import type { ToolSpec } from '../protocols/toolspec.ts';
import { seedRoles } from '../agents/registry.ts';
import assistantRole from '../agents/assistant/role.ts';
import { respondLlm } from '../agents/assistant/llm.ts';
import { LlmClient } from '../agents/common/llm/client.ts';
import { resolveEndpoint } from '../agents/common/llm/config.ts';
import { parseFlags, intFlag } from '../runtime/cli/args.ts';
import { LooptoolNode } from '../runtime/bus/node.ts';
import { runSeed } from '../runtime/seed.ts';
import { defineBench } from './result.ts';
import { driveWindow, round } from './stats.ts';
import { spawnOpenAIServer } from './openai-endpoint.ts';

/**
 * Round-0 seeding throughput.
 *
 * (a) sim brains: N dialogues through the whole framework (embedded nats-server,
 *     role hosts, dialogue machines, tracing, corpus files) → dialogues/s, and the
 *     framework's overhead per role call: this process's CPU time minus the CPU time
 *     of the brain functions (replayed alone on the very inputs of the run), divided
 *     by the number of role calls. The nats-server's own CPU is not in it.
 * (b) llm brains: assistant.respond calls through the bus and the assistant role
 *     (served in its own process, as `looptool agent assistant` would; --in-process
 *     keeps it here) to the OpenAI-protocol test server (its own process) answering
 *     after a fixed latency, at several concurrencies → achieved calls/s against the
 *     ideal (concurrency / latency). Target: >= 0.9 of ideal at the highest level.
 *     Measured in the same run, the same brain function called directly (no bus, no
 *     role host) gives what the endpoint and machine allow right now; bus/direct is
 *     the framework's share, robust to how busy the shared machine is.
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

type Recorded = { handle: (input: unknown, ctx: unknown) => Promise<unknown>; input: unknown; ctx: unknown };

/**
 * The same roles, recording every handler call (its input and context), so that the
 * brain functions can be timed afterwards on exactly the inputs the run gave them,
 * one after the other with nothing else running: timing them in place would count
 * whatever else the event loop interleaves with an async handler.
 */
function recording(roles: AnyRoleImpl[], log: Recorded[]): AnyRoleImpl[] {
  return roles.map((r) => ({
    ...r,
    verbs: Object.fromEntries(
      Object.entries(r.verbs).map(([verb, impl]) => {
        if (!('handle' in impl)) return [verb, impl];
        const handle = (input: unknown, ctx: unknown) => impl.handle(input as never, ctx as never) as Promise<unknown>;
        return [verb, { handle: (input: unknown, ctx: unknown) => (log.push({ handle, input, ctx }), handle(input, ctx)) }];
      }),
    ),
  })) as AnyRoleImpl[];
}

/** CPU milliseconds the recorded handler calls take when replayed alone (best of `reps`). */
async function replay(log: Recorded[], reps = 2): Promise<number> {
  let best = Infinity;
  for (let k = 0; k < reps; k++) {
    const c0 = process.cpuUsage();
    for (const r of log) await r.handle(r.input, r.ctx);
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000);
  }
  return best;
}

async function simBench(n: number, concurrency: number, values: Record<string, number | string | boolean | null>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'looptool-bench-seed-'));
  const config = RunConfig.parse({ seed: 'bench' });
  const node = await LooptoolNode.start({ run: 'bench-seed', runDir: dir, config: config as unknown as Record<string, unknown> });
  try {
    const log: Recorded[] = [];
    // The dialogue machine calls validator.check (a leaf, pure rule checks), never
    // validator.validate (which calls the judge), so no handler time is counted twice.
    for (const r of recording(seedRoles, log)) await node.serve(r);
    // warm-up: JIT, connections, first allocations
    await runSeed({ node, runDir: join(dir, 'warm'), config: { ...config, seed: 'warm' }, dialogues: Math.min(30, n), concurrency });
    const served0 = node.hosts.reduce((a, h) => a + h.served, 0);
    log.length = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const s = await runSeed({ node, runDir: join(dir, 'run'), config, dialogues: n, concurrency });
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const calls = node.hosts.reduce((a, h) => a + h.served, 0) - served0;
    const brain = { ms: await replay(log), calls: log.length };
    const overheadMs = (cpuMs - brain.ms) / calls;
    values.sim_dialogues = n;
    values.sim_concurrency = concurrency;
    values.sim_dialogues_per_s = round(n / wall, 1);
    values.sim_accepted = s.accepted;
    values.sim_samples = s.samples;
    values.sim_role_calls = calls;
    values.sim_calls_per_dialogue = round(calls / n, 1);
    values.sim_calls_per_s = round(calls / wall, 0);
    values.sim_cpu_ms_per_call = round(cpuMs / calls, 3);
    values.sim_brain_ms_per_call = round(brain.ms / brain.calls, 3);
    values.sim_overhead_ms_per_call = round(overheadMs, 3);
    values.sim_overhead_share = round((cpuMs - brain.ms) / cpuMs, 3);
    console.error(
      `sim: ${n} dialogues in ${wall.toFixed(2)} s = ${(n / wall).toFixed(1)}/s at concurrency ${concurrency}; ${calls} role calls (${(calls / n).toFixed(1)}/dialogue, ${(calls / wall).toFixed(0)}/s); ` +
        `cpu ${(cpuMs / calls).toFixed(3)} ms/call = brain ${(brain.ms / brain.calls).toFixed(3)} + framework ${overheadMs.toFixed(3)}`,
    );
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const TOOLS: ToolSpec[] = [
  {
    name: 'get_weather',
    description: 'Weather forecast for a city.',
    parameters: { type: 'object', properties: { city: { type: 'string', description: 'city name' }, days: { type: 'integer', description: 'days ahead' } }, required: ['city'] },
  },
];

/** Serves the assistant role in a child process on the node's bus; resolves when it is subscribed. */
async function spawnRole(node: LooptoolNode, dir: string, run: string, slots: number, config: RunConfig): Promise<ChildProcess> {
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', join(here, 'seed-serve.ts'), node.url!, dir, run, String(slots), JSON.stringify(config)], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', (c) => reject(new Error(`role process exited (${c})`)));
  });
  return child;
}

const request = (w: number, i: number) => ({
  seed: `bench/${w}/${i}`,
  tools: TOOLS,
  messages: [{ role: 'user' as const, content: `What is the weather in Oslo, lane ${w}, call ${i}?` }],
});

async function llmBench(
  levels: number[],
  latencyMs: number,
  durationMs: number,
  warmupMs: number,
  inProcess: boolean,
  values: Record<string, number | string | boolean | null>,
): Promise<boolean> {
  // The model answers with one Hermes tool call, parsed by the assistant's llm brain.
  const { url, child } = await spawnOpenAIServer(latencyMs, '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}\n</tool_call>');
  const dir = mkdtempSync(join(tmpdir(), 'looptool-bench-seed-llm-'));
  let ok = true;
  try {
    for (const c of levels) {
      const ideal = c / (latencyMs / 1000);
      // The same brain function, called directly (no bus, no role host): what the
      // endpoint and the llm client allow on this machine right now. A model name per
      // measurement gives each its own endpoint limiter.
      const direct = new LlmClient(resolveEndpoint('assistant', { baseURL: url, model: `direct-${c}`, concurrency: c, timeoutMs: 30_000, maxRetries: 0 }, {}));
      const d = await driveWindow(c, durationMs, warmupMs, async (w, i) => {
        const out = await respondLlm(RespondInput.parse(request(w, i)), { client: direct });
        if (out.tool_calls[0]?.name !== 'get_weather') throw new Error('unexpected reply');
      });

      const config = RunConfig.parse({
        seed: 'bench',
        brains: { assistant: 'llm' },
        llm: { baseURL: url, model: `bench-${c}`, concurrency: c, timeoutMs: 30_000, maxRetries: 0, apiKey: 'sk-bench-not-a-real-key' },
      });
      const run = `bench-llm-${c}`;
      const node = await LooptoolNode.start({ run, runDir: join(dir, run), config: config as unknown as Record<string, unknown> });
      // Slots are not the bound: the endpoint limiter is.
      const slots = Math.max(c, assistantRole.concurrency);
      let role: ChildProcess | undefined;
      try {
        if (inProcess) await node.serve(assistantRole, { concurrency: slots });
        else role = await spawnRole(node, join(dir, run), run, slots, config);
        const b = await driveWindow(c, durationMs, warmupMs, async (w, i) => {
          const out = await node.call(AssistantContract, 'respond', request(w, i), { timeoutMs: 30_000, retries: 0 });
          if (out.tool_calls[0]?.name !== 'get_weather') throw new Error('unexpected reply');
        });
        values[`llm_calls_per_s_c${c}`] = round(b.rate, 1);
        values[`llm_ideal_c${c}`] = ideal;
        values[`llm_ratio_c${c}`] = round(b.rate / ideal, 3);
        values[`llm_mean_latency_ms_c${c}`] = b.meanMs === null ? null : round(b.meanMs, 1);
        values[`llm_${inProcess ? '' : 'driver_'}cpu_ms_per_call_c${c}`] = round(b.cpuMsPerCall, 3);
        values[`llm_failed_c${c}`] = b.failed + d.failed;
        values[`llm_direct_calls_per_s_c${c}`] = round(d.rate, 1);
        values[`llm_direct_ratio_c${c}`] = round(d.rate / ideal, 3);
        values[`llm_bus_vs_direct_c${c}`] = d.rate ? round(b.rate / d.rate, 3) : null;
        console.error(
          `llm: concurrency ${c}: through the bus ${b.rate.toFixed(1)} calls/s = ${(b.rate / ideal).toFixed(3)} of ideal ${ideal} (mean ${b.meanMs?.toFixed(1)} ms); ` +
            `brain called directly ${d.rate.toFixed(1)} calls/s = ${(d.rate / ideal).toFixed(3)}; bus/direct ${(b.rate / Math.max(1e-9, d.rate)).toFixed(3)}; failed ${b.failed + d.failed}; load ${loadavg()[0]!.toFixed(2)}`,
        );
        if (b.failed + d.failed > 0) ok = false;
      } finally {
        if (role) {
          role.stdin!.end();
          await new Promise((r) => role!.once('exit', r));
        }
        await node.stop();
      }
    }
  } finally {
    child.stdin!.end();
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  return ok;
}

export default defineBench({
  name: 'seed',
  summary: 'round-0 seeding: sim dialogues/s and framework overhead per role call; llm assistant calls/s vs ideal at concurrency 64 and 256',
  async run(argv) {
    const { values: f } = parseFlags(argv, {
      dialogues: { type: 'string' },
      concurrency: { type: 'string' },
      'latency-ms': { type: 'string' },
      levels: { type: 'string' },
      'duration-s': { type: 'string' },
      'warmup-s': { type: 'string' },
      only: { type: 'string' },
      'in-process': { type: 'boolean', default: false },
    });
    const n = intFlag(f.dialogues, 'dialogues', 300, 1);
    const concurrency = intFlag(f.concurrency, 'concurrency', 32, 1);
    const latencyMs = intFlag(f['latency-ms'], 'latency-ms', 200, 1);
    const durationMs = Number(f['duration-s'] ?? 5) * 1000;
    const warmupMs = Number(f['warmup-s'] ?? 1) * 1000;
    const levels = (f.levels ?? '64,256').split(',').map((s) => intFlag(s.trim(), 'levels', 1, 1));
    const only = f.only;
    if (only && only !== 'sim' && only !== 'llm') throw new Error(`--only: expected sim or llm, got ${only}`);
    // The machine is shared: say how busy it was, next to the figures.
    const values: Record<string, number | string | boolean | null> = { cores: cpus().length, load_avg_1m_start: round(loadavg()[0]!, 2), latency_ms: latencyMs, duration_s: durationMs / 1000 };
    if (only !== 'llm') await simBench(n, concurrency, values);
    let ok = true;
    if (only !== 'sim') ok = await llmBench(levels, latencyMs, durationMs, warmupMs, !!f['in-process'], values);
    values.llm_role = f['in-process'] ? 'in-process' : 'child-process';
    values.load_avg_1m_end = round(loadavg()[0]!, 2);
    const top = Math.max(...levels);
    const topRatio = values[`llm_ratio_c${top}`];
    const pass = ok && (only === 'sim' || (typeof topRatio === 'number' && topRatio >= 0.9));
    return { name: 'seed', values, target: `llm calls/s >= 0.9 of ideal (concurrency / latency) at concurrency ${top}, no failed calls`, pass };
  },
});
