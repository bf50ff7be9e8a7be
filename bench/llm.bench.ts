import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { z } from 'zod';
import { LlmClient } from '../agents/common/llm/client.ts';
import { resolveEndpoint } from '../agents/common/llm/config.ts';
import { startOpenAIServer } from '../test/helpers/openai-server.ts';
import { defineBench } from './result.ts';
import { spawnOpenAIServer } from './openai-endpoint.ts';
import { driveWindow, round } from './stats.ts';

/**
 * llm client throughput: calls/s through LlmClient against the OpenAI-protocol test
 * server answering after a fixed latency, at several concurrencies, against the
 * ideal (concurrency / latency). The server runs in its own process by default
 * (a real endpoint is another process; sharing one event loop would measure the
 * double, not the client); --in-process puts it in ours.
 *
 * Mode `structured` (default) measures the whole path a role uses: prompt
 * template rendering, the HTTP call, JSON extraction and zod validation.
 * Mode `chat` measures the bare completion call.
 */
const cores = availableParallelism();

export default defineBench({
  name: 'llm',
  summary: 'llm client calls/s vs ideal (concurrency / latency) against the OpenAI-protocol test server',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        'latency-ms': { type: 'string', default: '200' },
        concurrency: { type: 'string', default: '64,256' },
        'duration-s': { type: 'string', default: '5' },
        'warmup-s': { type: 'string', default: '1' },
        mode: { type: 'string', default: 'structured' },
        'in-process': { type: 'boolean', default: false },
      },
    });
    const latencyMs = Number(values['latency-ms']);
    const durationMs = Number(values['duration-s']) * 1000;
    const warmupMs = Number(values['warmup-s']) * 1000;
    const levels = values.concurrency!.split(',').map((s) => Number(s.trim()));
    const mode = values.mode!;
    if (!['structured', 'chat'].includes(mode)) throw new Error(`--mode: expected structured or chat, got ${mode}`);
    if (![latencyMs, durationMs, warmupMs, ...levels].every((n) => Number.isFinite(n) && n >= 0) || levels.some((c) => c < 1))
      throw new Error('--latency-ms, --duration-s, --warmup-s and --concurrency need positive numbers');

    let url: string;
    let stop: () => Promise<void>;
    if (values['in-process']) {
      const s = await startOpenAIServer({ latencyMs, record: false, handler: () => ({ content: '{"answer":"ok"}' }) });
      url = s.url;
      stop = () => s.close();
    } else {
      const { url: u, child } = await spawnOpenAIServer(latencyMs);
      url = u;
      stop = async () => {
        child.stdin!.end();
        child.kill('SIGTERM');
      };
    }

    const prompt = ChatPromptTemplate.fromMessages([
      ['system', 'You answer questions about {topic}. Reply with a JSON object {{"answer": string}}.'],
      ['human', 'Question {n}: {question}'],
    ]);
    const schema = z.object({ answer: z.string().min(1) });
    const values_: Record<string, number | string | boolean | null> = { cores, latency_ms: latencyMs, duration_s: durationMs / 1000, mode, server: values['in-process'] ? 'in-process' : 'child-process' };
    let ok = true;
    try {
      for (const c of levels) {
        // A model name per level gives each level its own limiter (keyed by baseURL + model).
        const endpoint = resolveEndpoint('bench', { baseURL: url, model: `bench-${c}`, apiKey: 'sk-bench-not-a-real-key', concurrency: c, maxRetries: 0, timeoutMs: 30_000 }, {});
        const client = new LlmClient(endpoint);
        const t0 = performance.now();
        const load0 = loadavg()[0]!;
        const w = await driveWindow(c, durationMs, warmupMs, (lane, i) =>
          mode === 'structured'
            ? client.structured(prompt, { topic: 'benchmarks', n: i, question: `worker ${lane}` }, schema)
            : client.chat([{ role: 'user', content: `worker ${lane} call ${i}` }]),
        );
        const wall = performance.now() - t0;
        const { rate, failed } = w;
        const ideal = c / (latencyMs / 1000);
        const ratio = rate / ideal;
        values_[`calls_per_s_c${c}`] = Math.round(rate * 10) / 10;
        values_[`ideal_c${c}`] = ideal;
        values_[`ratio_c${c}`] = Math.round(ratio * 1000) / 1000;
        values_[`mean_latency_ms_c${c}`] = w.meanMs === null ? null : round(w.meanMs, 1);
        values_[`client_cpu_ms_per_call_c${c}`] = w.windowCpuMsPerCall === null ? null : round(w.windowCpuMsPerCall, 3);
        // Other work on the machine starves both client and server: report it next to the ratio.
        values_[`load_avg_1m_c${c}`] = Math.round(((load0 + loadavg()[0]!) / 2) * 100) / 100;
        values_[`failed_c${c}`] = failed;
        console.error(
          `concurrency ${c}: ${rate.toFixed(1)} calls/s, ideal ${ideal}, ratio ${ratio.toFixed(3)}, mean latency ${(w.meanMs ?? 0).toFixed(1)} ms, ` +
            `client CPU ${values_[`client_cpu_ms_per_call_c${c}`]} ms/call, load ${values_[`load_avg_1m_c${c}`]} (${cores} cores), ${failed} failed (${(wall / 1000).toFixed(1)} s)`,
        );
        if (failed > 0) ok = false;
      }
    } finally {
      await stop();
    }
    const top = Math.max(...levels);
    const topRatio = values_[`ratio_c${top}`] as number;
    return { name: 'llm', values: values_, target: `ratio >= 0.9 of ideal at concurrency ${top}, no failed calls`, pass: ok && topRatio >= 0.9 };
  },
});
