import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { labelCompletion, workerPrompt, modelsDir, presetDir, WorkerProcess } from '../../agents/trainer/index.ts';
import { writeJsonAtomic } from '../rundir.ts';
import { RunConfig } from '../../protocols/config.ts';
import { seededOrder } from '../../protocols/loop/index.ts';
import { Sample } from '../../protocols/sample.ts';
import { ApiDesignerContract } from '../../protocols/roles/api-designer.ts';
import { deriveRngSeed, rng } from '../../protocols/rng.ts';
import { redrawCopiedValues, wordPool } from '../../protocols/sample-redraw.ts';
import { rewardFromText } from '../../protocols/toolcalls/index.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import { readJsonl } from '../corpus.ts';
import { LooptoolNode } from '../bus/node.ts';
import { runSeed, seedFiles, serveSeedRoles } from '../seed.ts';

/*
 * The nano preset's base pretraining (DESIGN.md §2.3): the paper starts GRPO from a
 * pretrained model, so the embedded default does too. A separate simulated stream (its own
 * seed, a new tool set for every dialogue, no planted label noise) is simulated over the
 * bus, a BPE tokenizer and a small Qwen3 are made from its text, the model is trained on it
 * with supervised steps, and the result is written to the model cache as an ordinary
 * checkpoint directory. It runs once per machine: the directory records a hash of
 * everything that decides it, and a different hash builds it again.
 */

export const NANO_PRETRAIN = {
  /** bump when the simulated world changes what the stream holds */
  version: 3,
  seed: 'looptool-nano-pretrain',
  dialogues: 2400,
  toolSets: 800,
  vocabSize: 4096,
  shape: { hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 768, max_position_embeddings: 2048 },
  /**
   * Phase 1, the copy warm-up: this many steps on the stream's call samples with short prompts
   * (the conversation alone, no tools block), values re-drawn on every pass. Trained on full
   * prompts alone, the base learnt the call's shape but made its values up; a copy phase first
   * makes it copy (docs/loop.md, "The copy curriculum, searched on a GPU").
   */
  copySteps: 800,
  /** Phase 2: passes over the whole stream; each batch is half stream samples, half short-prompt copy samples */
  epochs: 3,
  batchSize: 16,
  lr: 2e-3,
  /** every pass after the first re-draws the values each sample copies (protocols/sample-redraw.ts) */
  redraw: true,
  /** a held-out stream (its own seed) scored with greedy answers after these epochs of phase 2 and at the end */
  heldout: { dialogues: 200, everyEpochs: 1 },
  world: {
    seeding: { tools: 2, contextUserTurns: 2, dropNoToolUse: false },
    sim: {
      noise: { labelRate: 0 },
      user: { surfaceRate: 0.2 },
      designer: { similarRate: 0.5 },
      planner: { targetTurns: 1, optionalRate: 0.2 },
    },
    loop: { toolConstraints: { paramCount: 'few', paramTypes: 'simple', description: 'concise', naming: 'snake' } },
  },
} as const;

/**
 * A small recipe of the same pipeline (a short stream, two epochs): what the tests load as
 * "nano" (scripts/run-tests.mjs sets LOOPTOOL_NANO_RECIPE=smoke and a model cache of their
 * own), so that every test runs the real model path in seconds, never the full pretraining.
 * Its Qwen3 is a sixth of the default's size (0.55M parameters against 3.5M): the tests check
 * what the pipeline does, not what the model learns, and at the default shape the suite spent
 * minutes in the smoke model's own training steps (a tiny loop run took 40 s, now 19 s; the
 * build took 197 s, now 20 s, on a 2-core machine).
 */
export const NANO_SMOKE = {
  ...NANO_PRETRAIN,
  seed: 'looptool-nano-smoke',
  dialogues: 80,
  toolSets: 24,
  copySteps: 3,
  epochs: 2,
  heldout: { dialogues: 12, everyEpochs: 2 },
  shape: { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 384, max_position_embeddings: 2048 },
};

/** The recipe this process builds and accepts: LOOPTOOL_NANO_RECIPE=smoke, else the full one. */
export function nanoRecipe(env: NodeJS.ProcessEnv = process.env): NanoPretrain {
  return env.LOOPTOOL_NANO_RECIPE === 'smoke' ? NANO_SMOKE : NANO_PRETRAIN;
}

/** The pretraining recipe; `world` keeps its literal constraint names (they are a schema's enums). */
export type NanoPretrain = Omit<{ [K in keyof typeof NANO_PRETRAIN]: (typeof NANO_PRETRAIN)[K] extends string ? string : (typeof NANO_PRETRAIN)[K] extends number ? number : (typeof NANO_PRETRAIN)[K] }, 'version' | 'heldout' | 'shape'> & {
  version: number;
  heldout: { dialogues: number; everyEpochs: number };
  shape: { [K in keyof (typeof NANO_PRETRAIN)['shape']]: number };
};
export type BuildProgress = (phase: 'simulating' | 'simulating held-out' | 'tokenizer' | 'pretraining' | 'saving', done: number, total: number, note?: string) => void;

const WORKER_DIR = new URL('../../agents/trainer/worker/', import.meta.url);

/** A hash of everything that decides the pretrained base. */
export function nanoHash(p: NanoPretrain = nanoRecipe()): string {
  const h = createHash('sha256').update(JSON.stringify(p));
  for (const f of ['nano.py', 'chat_template.jinja', 'requirements.txt']) h.update(readFileSync(new URL(f, WORKER_DIR)));
  return h.digest('hex').slice(0, 16);
}

/** Greedy answers of the base to the held-out stream: ToolMatch over all samples and over call samples, beside never-calling. */
export type HeldoutScore = { epoch: number; step: number; samples: number; toolmatch: number; call_samples: number; call_exact: number; never_call: number };

export type NanoBuildInfo = {
  preset: 'nano';
  hash: string;
  built: string;
  seconds: number;
  samples: number;
  params: number;
  vocab_size: number;
  tokens_per_sample: { mean: number; max: number; min: number };
  loss: { first: number; last: number };
  steps: number;
  /** the held-out probe after every few epochs and at the end (the last entry is the built base) */
  heldout?: HeldoutScore[];
};

/** The built base's record, if it is the current one. */
export function currentNano(dir = presetDir('nano')): NanoBuildInfo | null {
  const path = join(dir, 'looptool-model.json');
  if (!existsSync(path)) return null;
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as NanoBuildInfo;
    return info.hash === nanoHash() ? info : null;
  } catch {
    return null;
  }
}

/** Builds the nano base unless the current one is already there. */
export async function ensureNano(opts: { force?: boolean; onProgress?: BuildProgress; threads?: number } = {}): Promise<NanoBuildInfo> {
  const have = opts.force ? null : currentNano();
  if (have) return have;
  return buildNano(nanoRecipe(), presetDir('nano'), opts);
}

export async function buildNano(p: NanoPretrain, outDir: string, opts: { onProgress?: BuildProgress; threads?: number; signal?: AbortSignal } = {}): Promise<NanoBuildInfo> {
  const t0 = performance.now();
  const hash = nanoHash(p);
  const work = join(modelsDir(), `nano.build-${hash}`);
  mkdirSync(work, { recursive: true });
  const samples = await simulateStream(p, join(work, 'stream'), 'simulating', opts);
  const heldout = await simulateStream({ ...p, seed: `${p.seed}/heldout`, dialogues: p.heldout.dialogues }, join(work, 'heldout'), 'simulating held-out', opts);
  const pool = wordPool(samples);
  const epochSamples = (epoch: number) => (p.redraw && epoch > 0 ? samples.map((s) => redrawCopiedValues(s, rng(p.seed, 'redraw', epoch, s.id), pool)) : samples);
  const rendered = (s: Sample) => ({ prompt: workerPrompt({ tools: s.tools, messages: s.context }), completion: labelCompletion(s.label) });
  const copies = copyStream(p, samples, pool);
  const worker = await WorkerProcess.start({ threads: opts.threads, logFile: join(work, 'worker.log') });
  try {
    opts.onProgress?.('tokenizer', 0, 1, `${samples.length} samples`);
    const init = await worker.initNano({ out: join(work, 'init'), samples: samples.map(rendered), vocab_size: p.vocabSize, seed: 0, shape: p.shape });
    opts.onProgress?.('tokenizer', 1, 1, `vocabulary ${init.vocab_size}, ${init.params} parameters`);
    await worker.load({ model: { path: init.path }, seed: 0, optimizer: { lr: p.lr } });
    const half = p.batchSize / 2;
    const perEpoch = Math.ceil(samples.length / half);
    const steps = p.copySteps + p.epochs * perEpoch;
    const scores: HeldoutScore[] = [];
    let first = NaN;
    let last = NaN;
    let step = 0;
    const train = async (batch: ReturnType<typeof rendered>[], what: string) => {
      if (opts.signal?.aborted) throw new Error('nano pretraining interrupted');
      // linear decay to 10 % of the peak over both phases: a short schedule ends calmer than it starts
      const lr = p.lr * (1 - (0.9 * step) / Math.max(1, steps - 1));
      const r = await worker.sftStep({ samples: batch, lr, reset_optimizer: step === 0 });
      if (step === 0) first = r.loss;
      last = r.loss;
      step++;
      const probe = scores.at(-1);
      const probed = probe ? `, held-out exact calls ${(100 * probe.call_exact).toFixed(1)} %` : '';
      opts.onProgress?.('pretraining', step, steps, `${what} loss ${r.loss.toFixed(3)} ${Math.round(r.tokens_per_s)} tok/s${probed}`);
    };
    for (let i = 0; i < p.copySteps; i++) await train(copies.next(p.batchSize), `copy warm-up ${i + 1}/${p.copySteps}`);
    for (let e = 0; e < p.epochs; e++) {
      const order = seededOrder(epochSamples(e), `${p.seed}/epoch/${e}`).map(rendered);
      for (let i = 0; i < order.length; i += half) await train([...order.slice(i, i + half), ...copies.next(half)], `epoch ${e + 1}/${p.epochs}`);
      if ((e + 1) % p.heldout.everyEpochs === 0 || e === p.epochs - 1) scores.push({ epoch: e + 1, step, ...(await scoreHeldout(worker, heldout)) });
    }
    opts.onProgress?.('saving', 0, 1);
    const staged = join(work, 'model');
    await worker.export({ path: staged });
    const info: NanoBuildInfo = {
      preset: 'nano',
      hash,
      built: new Date().toISOString(),
      seconds: (performance.now() - t0) / 1000,
      samples: samples.length,
      params: init.params,
      vocab_size: init.vocab_size,
      tokens_per_sample: init.tokens_per_sample,
      loss: { first, last },
      steps,
      heldout: scores,
    };
    writeJsonAtomic(join(staged, 'looptool-model.json'), info);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(join(outDir, '..'), { recursive: true });
    renameSync(staged, outDir);
    opts.onProgress?.('saving', 1, 1);
    rmSync(work, { recursive: true, force: true });
    return info;
  } finally {
    await worker.close();
  }
}

/**
 * The copy samples, endlessly: the stream's call samples with short prompts (the conversation
 * alone, no tools block) in a seeded order, every pass with its values re-drawn, so a value
 * can only be got right by copying it from the request.
 */
function copyStream(p: NanoPretrain, samples: readonly Sample[], pool: ReturnType<typeof wordPool>) {
  const calls = samples.filter((s) => s.label.type === 'calls');
  if (calls.length === 0) throw new Error('nano pretraining: the stream holds no call samples to copy from');
  const short = (s: Sample) => ({ prompt: workerPrompt({ tools: [], messages: s.context }), completion: labelCompletion(s.label) });
  let pass = 0;
  let queue: ReturnType<typeof short>[] = [];
  return {
    next(n: number) {
      while (queue.length < n) {
        const drawn = calls.map((s) => redrawCopiedValues(s, rng(p.seed, 'copy', pass, s.id), pool));
        queue = [...queue, ...seededOrder(drawn, `${p.seed}/copy/${pass}`).map(short)];
        pass++;
      }
      return queue.splice(0, n);
    },
  };
}

/**
 * Greedy answers to a held-out stream, scored by ToolMatch: how well the base copies and
 * calls before the loop starts, measured on samples it never trained on.
 */
async function scoreHeldout(worker: WorkerProcess, samples: readonly Sample[]): Promise<Omit<HeldoutScore, 'epoch' | 'step'>> {
  const out = await worker.generate({ prompts: samples.map((s) => workerPrompt({ tools: s.tools, messages: s.context })), greedy: true, temperature: 0, max_new_tokens: 192 });
  const hits = samples.map((s, i) => rewardFromText(out.results[i]!.samples[0]!.text, s.label).reward === 1);
  const calls = samples.map((s) => s.label.type === 'calls');
  const share = (n: number, d: number) => (d === 0 ? 0 : n / d);
  const callCount = calls.filter(Boolean).length;
  return {
    samples: samples.length,
    toolmatch: share(hits.filter(Boolean).length, samples.length),
    call_samples: callCount,
    call_exact: share(hits.filter((h, i) => h && calls[i]).length, callCount),
    never_call: share(samples.length - callCount, samples.length),
  };
}

/** The pretraining stream: dialogues simulated over an embedded bus, their unmasked samples. */
async function simulateStream(p: NanoPretrain, dir: string, phase: 'simulating' | 'simulating held-out', opts: { onProgress?: BuildProgress; signal?: AbortSignal }): Promise<Sample[]> {
  const config = RunConfig.parse({ ...p.world, seed: p.seed });
  const node = await LooptoolNode.start({ run: `nano-pretrain-${nanoHash(p).slice(0, 8)}`, runDir: dir, config: config as unknown as Record<string, unknown> });
  try {
    const { seedRoles } = await import('../../agents/registry.ts');
    await serveSeedRoles(node, [...seedRoles]);
    // Many small tool sets under the stream's constraints: the base must learn to read any
    // tools block, not two APIs by heart.
    const count = config.seeding.tools ?? config.sim.designer.toolsPerSet;
    const toolPool: ToolSpec[][] = [];
    for (let i = 0; i < p.toolSets; i++) {
      const out = await node.call(ApiDesignerContract, 'design', { seed: deriveRngSeed(p.seed, 'toolset', i), count, constraints: p.world.loop.toolConstraints });
      toolPool.push(out.tools);
    }
    const summary = await runSeed({
      toolPool,
      node,
      runDir: dir,
      config,
      dialogues: p.dialogues,
      concurrency: 16,
      trace: false,
      signal: opts.signal,
      onProgress: (s) => opts.onProgress?.(phase, s.finished, s.total, `accepted ${s.accepted}`),
    });
    if (!summary.complete) throw new Error(`nano pretraining: the stream stopped after ${summary.finished}/${summary.dialogues} dialogues`);
  } finally {
    await node.stop();
  }
  return readJsonl(seedFiles(dir).samples, Sample).records.filter((s) => !s.masked);
}
