import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveModelSpec } from '../agents/trainer/presets.ts';
import { resolveEndpoint } from '../agents/common/llm/config.ts';
import { LlmClient } from '../agents/common/llm/client.ts';
import { CATEGORIES, type CheckMode, bfclMessages, bfclTools } from '../protocols/bfcl/index.ts';
import { PolicyAnswerer, policyModelSpec, policyPrompt } from '../runtime/bfcl/answerers.ts';
import { EndpointAnswerer } from '../runtime/bfcl/endpoint-answerer.ts';
import { bfclDataDir } from '../runtime/bfcl/files.ts';
import { loadQuestions, runBfcl } from '../runtime/bfcl/run.ts';
import { ensureModel } from '../runtime/models/ensure.ts';
import { spawnOpenAIServer } from './openai-endpoint.ts';
import { runReference } from './reference.ts';
import { defineBench } from './result.ts';
import { driveWindow, round } from './stats.ts';

/**
 * `eval bfcl run` throughput: answers/s against the OpenAI-protocol test server (its own
 * process) answering every request after a fixed latency, as a ratio of the ideal
 * (concurrency / latency). The whole answering path runs: BFCL questions, tools converted
 * per request, the LlmClient, result lines appended to files. Answers that land inside a
 * window after a warm-up count; then the run is stopped (as Ctrl-C would). Before it, in
 * the same run, the bare LlmClient sends the same requests at the same concurrency: what
 * the endpoint and the machine allow at that moment, since other work on a shared machine
 * moves both figures.
 *
 * Then the policy path (`--model`): `eval bfcl run` on a local model through its worker
 * (greedy, questions batched as they wait) against plain transformers `model.generate` on
 * the same rendered prompts, batch size, token limit and threads
 * (agents/trainer/worker/bench_reference.py), answers per second of each.
 */
const cores = availableParallelism();

export default defineBench({
  name: 'eval',
  summary: 'eval bfcl run answers/s vs ideal (concurrency / latency) against the OpenAI-protocol test server',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        'latency-ms': { type: 'string', default: '200' },
        concurrency: { type: 'string', default: '64' },
        'duration-s': { type: 'string', default: '5' },
        'warmup-s': { type: 'string', default: '1' },
        mode: { type: 'string', default: 'fc' },
        data: { type: 'string' },
        model: { type: 'string', default: 'nano' },
        questions: { type: 'string', default: '32' },
        batch: { type: 'string', default: '8' },
        'max-tokens': { type: 'string', default: '64' },
        threads: { type: 'string', default: '2' },
      },
    });
    const latencyMs = Number(values['latency-ms']);
    const durationMs = Number(values['duration-s']) * 1000;
    const warmupMs = Number(values['warmup-s']) * 1000;
    const levels = values.concurrency!.split(',').map((s) => Number(s.trim()));
    const mode = values.mode as CheckMode;
    if (mode !== 'fc' && mode !== 'prompt') throw new Error(`--mode: expected fc or prompt, got ${values.mode}`);
    if (![latencyMs, durationMs, warmupMs, ...levels].every((n) => Number.isFinite(n) && n >= 0) || levels.some((c) => c < 1) || latencyMs <= 0)
      throw new Error('--latency-ms, --duration-s, --warmup-s and --concurrency need positive numbers');

    const dataDir = bfclDataDir(values.data);
    const questions = CATEGORIES.flatMap((cat) => loadQuestions(dataDir, cat).questions);
    const { url, child } = await spawnOpenAIServer(latencyMs, 'I cannot help with that.');
    const out: Record<string, number | string | boolean | null> = { cores, latency_ms: latencyMs, duration_s: durationMs / 1000, mode };
    let ok = true;
    const scratch = mkdtempSync(join(tmpdir(), 'looptool-bench-eval-'));
    try {
      for (const c of levels) {
        // A model name per level gives each level its own limiter (keyed by baseURL + model).
        const endpoint = resolveEndpoint('bench', { baseURL: url, model: `bench-${c}`, concurrency: c, maxRetries: 0, timeoutMs: 30_000 }, {});
        // What the machine allows right now: the bare client on the same requests, same window.
        const bare = new LlmClient(resolveEndpoint('bench', { baseURL: url, model: `bench-bare-${c}`, concurrency: c, maxRetries: 0, timeoutMs: 30_000 }, {}));
        const base = await driveWindow(c, durationMs, warmupMs, (lane, i) => {
          const q = questions[(lane * 997 + i) % questions.length]!;
          const extra = mode === 'fc' && q.functions.length ? { tools: bfclTools(q.functions).tools as never } : {};
          return bare.chat(bfclMessages(q, mode), { temperature: 0 }, extra);
        });
        const stop = new AbortController();
        let started = 0;
        let inWindow = 0;
        let cpuFrom: NodeJS.CpuUsage | undefined;
        let cpuWindow: NodeJS.CpuUsage | undefined;
        let answersFrom = 0;
        let answers = 0;
        const load0 = loadavg()[0]!;
        const outcome = await runBfcl({
          answerer: new EndpointAnswerer(endpoint),
          modelLabel: endpoint.model,
          mode,
          categories: [...CATEGORIES],
          outDir: join(scratch, `c${c}`),
          dataDir,
          concurrency: c,
          signal: stop.signal,
          onStart() {
            started = performance.now();
            setTimeout(() => ((cpuFrom = process.cpuUsage()), (answersFrom = answers)), warmupMs);
            setTimeout(() => {
              cpuWindow = process.cpuUsage(cpuFrom);
              stop.abort(new Error('benchmark window over'));
            }, warmupMs + durationMs);
          },
          onAnswer() {
            answers++;
            const t = performance.now() - started;
            if (t >= warmupMs && t < warmupMs + durationMs) inWindow++;
          },
        });
        if (!outcome.interrupted) {
          // Every question was answered before the window closed: too few for this level.
          throw new Error(`all ${outcome.answered} questions answered within ${(warmupMs + durationMs) / 1000} s at concurrency ${c}; shorten --duration-s`);
        }
        const rate = inWindow / (durationMs / 1000);
        const ideal = c / (latencyMs / 1000);
        const ratio = rate / ideal;
        out[`answers_per_s_c${c}`] = round(rate, 1);
        out[`ideal_c${c}`] = ideal;
        out[`ratio_c${c}`] = round(ratio, 3);
        const windowAnswers = answers - answersFrom;
        out[`cpu_ms_per_answer_c${c}`] = cpuWindow && windowAnswers ? round((cpuWindow.user + cpuWindow.system) / 1000 / windowAnswers, 3) : null;
        out[`bare_client_per_s_c${c}`] = round(base.rate, 1);
        out[`bare_client_ratio_c${c}`] = round(base.rate / ideal, 3);
        out[`bare_client_cpu_ms_per_call_c${c}`] = base.windowCpuMsPerCall === null ? null : round(base.windowCpuMsPerCall, 3);
        out[`eval_vs_bare_c${c}`] = base.rate > 0 ? round(rate / base.rate, 3) : null;
        out[`load_avg_1m_c${c}`] = round((load0 + loadavg()[0]!) / 2, 2);
        out[`rejected_c${c}`] = outcome.rejected.length;
        if (outcome.rejected.length) ok = false;
        console.error(
          `concurrency ${c}: ${rate.toFixed(1)} answers/s, ideal ${ideal}, ratio ${ratio.toFixed(3)}, CPU ${out[`cpu_ms_per_answer_c${c}`]} ms/answer; ` +
            `bare client on the same requests ${base.rate.toFixed(1)}/s (ratio ${(base.rate / ideal).toFixed(3)}, ${out[`bare_client_cpu_ms_per_call_c${c}`]} ms/call); ` +
            `load ${out[`load_avg_1m_c${c}`]} (${cores} cores)`,
        );
      }
    } finally {
      child.stdin!.end();
      child.kill('SIGTERM');
      rmSync(scratch, { recursive: true, force: true });
    }
    if (values.model !== 'none') {
      const shape = {
        questions: positive(values.questions!, '--questions'),
        batch: positive(values.batch!, '--batch'),
        maxNewTokens: positive(values['max-tokens']!, '--max-tokens'),
        threads: positive(values.threads!, '--threads'),
      };
      Object.assign(out, await policyPath(values.model!, mode, dataDir, shape));
    }
    const top = Math.max(...levels);
    return {
      name: 'eval',
      values: out,
      target: `ratio >= 0.9 of ideal at concurrency ${top}; the policy path's answers/s reported against plain transformers generate`,
      pass: ok && (out[`ratio_c${top}`] as number) >= 0.9,
    };
  },
});

function positive(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got ${v}`);
  return n;
}

type PolicyShape = { questions: number; batch: number; maxNewTokens: number; threads: number };

/** `eval bfcl run --model` on the first N `simple` questions vs plain `model.generate` on the same prompts. */
async function policyPath(model: string, mode: CheckMode, dataDir: string, shape: PolicyShape): Promise<Record<string, number | string>> {
  const { spec } = policyModelSpec(model);
  await ensureModel(spec);
  const questions = loadQuestions(dataDir, 'simple', shape.questions).questions;
  const scratch = mkdtempSync(join(tmpdir(), 'looptool-bench-eval-policy-'));
  let oursS: number;
  const answerer = await PolicyAnswerer.start(spec, { maxBatch: shape.batch, maxNewTokens: shape.maxNewTokens, threads: shape.threads });
  try {
    const t0 = performance.now();
    const outcome = await runBfcl({
      answerer,
      modelLabel: model,
      mode,
      categories: ['simple'],
      limit: shape.questions,
      outDir: scratch,
      dataDir,
      concurrency: shape.batch,
    });
    oursS = (performance.now() - t0) / 1000;
    if (outcome.rejected.length) throw new Error(`the policy path rejected ${outcome.rejected.length} questions: ${JSON.stringify(outcome.rejected[0])}`);
  } finally {
    await answerer.close();
    rmSync(scratch, { recursive: true, force: true });
  }
  const job = {
    path: resolveModelSpec(spec).path,
    threads: shape.threads,
    answer: { prompts: questions.map((q) => policyPrompt(q, mode)), batch: shape.batch, max_new_tokens: shape.maxNewTokens },
  };
  const ref = await runReference<{ answers_s: number; answer_tok_s: number }>(job);
  const ours = questions.length / oursS;
  console.error(
    `policy ${model}: ${questions.length} simple questions, batch ${shape.batch}, <= ${shape.maxNewTokens} new tokens, ${shape.threads} threads: ` +
      `eval bfcl run ${ours.toFixed(2)} answers/s, plain generate ${ref.answers_s.toFixed(2)} answers/s (${(ours / ref.answers_s).toFixed(3)}x)`,
  );
  return {
    policy_model: model,
    policy_questions: questions.length,
    policy_batch: shape.batch,
    policy_max_new_tokens: shape.maxNewTokens,
    policy_threads: shape.threads,
    policy_answers_per_s: round(ours, 2),
    hf_generate_answers_per_s: round(ref.answers_s, 2),
    hf_generate_tok_per_s: round(ref.answer_tok_s, 1),
    policy_vs_hf_generate: round(ours / ref.answers_s, 3),
  };
}
