import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { RunConfig } from '../../protocols/config.ts';
import { isInfrastructureError, LooptoolError } from '../../protocols/errors.ts';
import type { Ablations } from '../../protocols/loop/config.ts';
import { seededOrder, initialRound, mergeRound, staticRound, staticPoolNeed, Composition, type Placed } from '../../protocols/loop/merge.ts';
import { ACTION_OF, applyVerdict, decided, majorityVerdict } from '../../protocols/loop/jglv.ts';
import { accuracy, evalFigures, jglvScores, labelNoiseRate, trueVerdict } from '../../protocols/loop/metrics.ts';
import { proportion } from '../../protocols/loop/stats.ts';
import { stratifiedTake } from '../../protocols/loop/split.ts';
import {
  EvalItemRecord,
  ExpansionRecord,
  ProbeRecord,
  RoundEval,
  SampleRecord,
  VerdictRecord,
  type Manifest,
} from '../../protocols/loop/records.ts';
import type { Stage } from '../../protocols/loop/stages.ts';
import type { CallFn } from '../../protocols/role.ts';
import { ExpanderContract, Variation } from '../../protocols/roles/expander.ts';
import { JudgeContract, type VerifyVerdict } from '../../protocols/roles/judge.ts';
import { ProberContract } from '../../protocols/roles/prober.ts';
import { deriveSeed } from '../../protocols/roles/seed.ts';
import { ValidatorContract } from '../../protocols/roles/validator.ts';
import { ApiDesignerContract } from '../../protocols/roles/api-designer.ts';
import { UNIFORM_SKILL_MIX } from '../../protocols/roles/planner.ts';
import type { SkillMix } from '../../protocols/sim-config.ts';
import { ToolSpec } from '../../protocols/toolspec.ts';
import { Sample, primarySkill, publicView } from '../../protocols/sample.ts';
import type { StageInput, StageSummary } from '../../machines/loop.ts';
import type { LooptoolNode } from '../bus/node.ts';
import { readJsonl } from '../corpus.ts';
import { runSeed, seedFiles } from '../seed.ts';
import { evalBfcl } from './bfcl.ts';
import { crashPoint } from './crash.ts';
import { chunks, intSeed, mapLimit } from './pool.ts';
import { PolicyPort } from './policy.ts';
import { findStage, RunStore, type FileInfo } from './store.ts';

/** What a stage reports as it goes (the CLI draws bars from it; traces carry it too). */
export type StageProgress = { stage: string; round: number; done: number; total: number; note?: string };

export type StageDeps = {
  node: LooptoolNode;
  store: RunStore;
  config: RunConfig;
  ablations: Ablations;
  /** run whose round 0 (seed pool, test split, warm-up, baseline) this run reuses */
  base?: string;
  onProgress?: (p: StageProgress) => void;
  signal?: AbortSignal;
};

const VARIATIONS = Variation.options;

const TrainSummary = z.record(z.string(), z.unknown());

/**
 * The work of each loop stage. Every stage first looks in the manifest: a finished stage
 * answers from its files and does nothing again. Long stages keep per-item results in
 * `<stage>.partial.jsonl` so a resumed stage runs only what is missing; bus calls carry
 * ids made of run, round, stage and item, so a retried call is answered from the host's
 * cache. Outputs are ordered by input, never by completion, so a resumed run writes the
 * same files as an uninterrupted one.
 */
export class LoopStages {
  readonly policy: PolicyPort;
  private manifest: Manifest;
  private readonly call: CallFn;

  constructor(
    private readonly d: StageDeps,
    manifest: Manifest,
  ) {
    this.manifest = manifest;
    this.call = d.node.client.call;
    this.policy = new PolicyPort(this.call);
  }

  get loop() {
    return this.d.config.loop;
  }

  private get store() {
    return this.d.store;
  }

  private get run() {
    return this.d.node.run;
  }

  private seed(...parts: (string | number)[]): string {
    return deriveSeed(this.d.config.seed, ...parts);
  }

  private progress(stage: string, round: number, done: number, total: number, note?: string): void {
    this.d.onProgress?.({ stage, round, done, total, note });
    this.d.node.tracer.emit({ role: 'loop', kind: 'progress', actor: `loop/${this.run}`, data: { stage, round, done, total, ...(note ? { note } : {}) } });
  }

  /** Forwards the trainer's own progress events (steps of a warm-up or a GRPO round) while `work` runs. */
  private async watchTrainer<T>(stage: string, round: number, work: () => Promise<T>): Promise<T> {
    const unwatch = this.d.node.watchTraces('trainer', ['progress'], (e) => {
      const p = e.data as { done?: unknown; total?: unknown; loss?: unknown; reward_mean?: unknown } | null;
      if (!p || typeof p.done !== 'number' || typeof p.total !== 'number') return;
      const note = typeof p.loss === 'number' ? `loss ${p.loss.toFixed(3)}` : typeof p.reward_mean === 'number' ? `reward ${p.reward_mean.toFixed(3)}` : undefined;
      this.progress(stage, round, p.done, p.total, note);
      // Inside for certain: the trainer has reported a step and the stage is not recorded yet.
      crashPoint(stage, round, p.done);
    });
    try {
      return await work();
    } finally {
      unwatch();
    }
  }

  currentManifest(): Manifest {
    return this.manifest;
  }

  /** Records a finished stage (after its files are written). */
  private finish(round: number, stage: Stage, t0: number, files: string[], counts: Record<string, number>, checkpoint?: string | null): StageSummary {
    const fileInfo: Record<string, FileInfo> = {};
    for (const f of files) {
      const info = this.store.fileInfo(f);
      if (!info) throw new LooptoolError({ code: 'internal', message: `stage ${stage}@${round} finished without writing ${f}` });
      fileInfo[f] = info;
    }
    const entry = { round, stage, finishedAt: new Date().toISOString(), seconds: (performance.now() - t0) / 1000, files: fileInfo, counts };
    const stages = this.manifest.stages.filter((s) => !(s.round === round && s.stage === stage));
    this.manifest = { ...this.manifest, stages: [...stages, entry], ...(checkpoint !== undefined ? { checkpoint: checkpoint === null ? null : this.store.relPath(checkpoint) } : {}) };
    this.store.saveManifest(this.manifest);
    return { ...counts, seconds: Math.round(entry.seconds * 1000) / 1000 };
  }

  /** A trainer's summary as train.json keeps it: the checkpoint relative to the run directory. */
  private trainRecord(out: { checkpoint?: string | null }): { checkpoint: string | null } {
    return { checkpoint: out.checkpoint ? this.store.relPath(out.checkpoint) : null };
  }

  private done(round: number, stage: Stage): StageSummary | undefined {
    const e = findStage(this.manifest, round, stage);
    return e ? { ...e.counts, cached: true } : undefined;
  }

  /** The stage a machine state runs. */
  async runStage({ stage, round }: StageInput): Promise<StageSummary> {
    switch (stage) {
      case 'seeding':
        return this.seeding();
      case 'warmup':
        return this.warmup();
      case 'baseline':
        return this.evaluating(0);
      case 'training':
        return this.training(round);
      case 'probing':
        return this.probing(round);
      case 'verifying':
        return this.verifying(round);
      case 'expanding':
        return this.expanding(round);
      case 'merging':
        return this.merging(round);
      case 'evaluating':
        return this.evaluating(round);
    }
  }

  // ------------------------------------------------------------------ data access

  pool(): Sample[] {
    return this.store.read('round-0/pool.jsonl', SampleRecord).map((r) => r.sample);
  }

  test(): Sample[] {
    return this.store.read('round-0/test.jsonl', SampleRecord).map((r) => r.sample);
  }

  data(j: number): Placed[] {
    return this.store.read(`round-${j}/data.jsonl`, SampleRecord).map((r) => ({ part: r.part ?? 'seed', sample: r.sample }));
  }

  probes(j: number): ProbeRecord[] {
    return this.store.read(`round-${j}/probes.jsonl`, ProbeRecord);
  }

  verdicts(j: number): VerdictRecord[] {
    return this.store.exists(`round-${j}/verdicts.jsonl`) ? this.store.read(`round-${j}/verdicts.jsonl`, VerdictRecord) : [];
  }

  expansions(j: number): ExpansionRecord[] {
    return this.store.exists(`round-${j}/expansions.jsonl`) ? this.store.read(`round-${j}/expansions.jsonl`, ExpansionRecord) : [];
  }

  /** The policy checkpoint a finished warm-up (j = 0) or training stage (j >= 1) left. */
  checkpointAfter(j: number): string | null {
    const rel = `round-${j}/train.json`;
    if (!this.store.exists(rel)) return null;
    const t = this.store.readJson(rel, TrainSummary);
    return typeof t.checkpoint === 'string' ? this.store.absPath(t.checkpoint) : null;
  }

  // ------------------------------------------------------------------ round 0

  private async seeding(): Promise<StageSummary> {
    const cached = this.done(0, 'seeding');
    if (cached) return cached;
    const t0 = performance.now();
    if (this.d.base) {
      const base = this.baseStore();
      for (const f of ['round-0/pool.jsonl', 'round-0/test.jsonl', 'round-1/data.jsonl', 'round-1/composition.json']) {
        if (!base.exists(f)) throw new LooptoolError({ code: 'invalid_input', message: `base run ${this.d.base} has no ${f}: its seeding stage did not finish` });
        cpSync(base.path(f), this.store.path(f));
      }
      const pool = this.pool().length;
      this.checkStaticPool();
      return this.finish(0, 'seeding', t0, ['round-0/pool.jsonl', 'round-0/test.jsonl', 'round-1/data.jsonl', 'round-1/composition.json'], { pool, test: this.test().length, base: 1 });
    }
    const loop = this.loop;
    const toolPool = loop.toolSets > 0 ? await this.toolPool(loop.toolSets) : undefined;
    const summary = await runSeed({
      ...(toolPool ? { toolPool } : {}),
      node: this.d.node,
      runDir: this.store.dir,
      config: this.d.config,
      dialogues: loop.seedDialogues,
      concurrency: loop.concurrency,
      signal: this.d.signal,
      onProgress: (p) => {
        this.progress('seeding', 0, p.finished, p.total, `accepted ${p.accepted}`);
        if (p.record) crashPoint('seeding', 0, p.finished);
      },
    });
    if (!summary.complete)
      throw new LooptoolError({
        code: summary.unavailable ? 'unavailable' : 'internal',
        message: `seeding stopped after ${summary.finished}/${summary.dialogues} dialogues${summary.unavailable ? ` (not attempted: ${summary.unavailable}); resume the run when the endpoint is back` : ''}`,
      });
    const all = readJsonl(seedFiles(this.store.dir).samples, Sample).records.filter((s) => !s.masked);
    const { pool, test } = loop.eval.split === 'pool' ? splitSeed(all, loop.eval.testSize, this.seed('split')) : { pool: all, test: await this.testStream(toolPool) };
    if (pool.length === 0) throw new LooptoolError({ code: 'internal', message: `seeding produced ${all.length} usable samples, all taken by the test split (eval.testSize ${loop.eval.testSize}); simulate more dialogues (loop.seedDialogues)` });
    const ordered = seededOrder(pool, this.seed('pool'));
    this.store.write('round-0/pool.jsonl', ordered.map((sample) => ({ type: 'sample', sample })));
    this.store.write('round-0/test.jsonl', test.map((sample) => ({ type: 'sample', sample })));
    const d1 = initialRound(ordered, loop.budget);
    this.store.write('round-1/data.jsonl', d1.samples.map((p) => ({ type: 'sample', part: p.part, sample: p.sample })));
    this.store.writeJson('round-1/composition.json', d1.composition);
    this.checkStaticPool();
    return this.finish(0, 'seeding', t0, ['round-0/pool.jsonl', 'round-0/test.jsonl', 'round-1/data.jsonl', 'round-1/composition.json'], {
      dialogues: summary.dialogues,
      accepted: summary.accepted,
      samples: all.length,
      pool: ordered.length,
      test: test.length,
      noisy: labelNoiseRate(ordered).noisy,
    });
  }

  /**
   * The test split as its own stream (loop.eval.split "stream"): dialogues simulated with
   * their own seed over the same tool sets, planned uniformly over skills (the sim
   * planner honours the mix; an llm planner plans as it will), stratified by skill to testSize. Nothing of it
   * is ever trained on, and no setting is chosen by looking at it.
   */
  private async testStream(toolPool: ToolSpec[][] | undefined): Promise<Sample[]> {
    const e = this.loop.eval;
    const samples = await this.simulatedStream('test-stream', e.testDialogues || this.dialoguesFor(e.testSize), toolPool, UNIFORM_SKILL_MIX);
    return stratifiedTake(samples, e.testSize, primarySkill, this.seed('test-split'));
  }

  /** Dialogues enough for `samples` usable samples (1.4 × samples / requests per dialogue). */
  private dialoguesFor(samples: number): number {
    const turns = this.d.config.seeding.targetTurns ?? this.d.config.sim.planner.targetTurns;
    return Math.ceil((1.4 * samples) / turns);
  }

  /**
   * A stream of simulated samples apart from the seed pool: the same world (tool sets,
   * simulator settings), its own seed, in `<name>/` of the run directory, so an interrupted
   * stream resumes like the seed stream does.
   */
  private async simulatedStream(name: 'test-stream' | 'warmup-stream', dialogues: number, toolPool: ToolSpec[][] | undefined, skillMix?: SkillMix): Promise<Sample[]> {
    const config: RunConfig = { ...this.d.config, seed: this.seed(name), ...(skillMix ? { seeding: { ...this.d.config.seeding, skillMix } } : {}) };
    const runDir = this.store.path(name);
    const stage = name === 'test-stream' ? 'seeding' : 'warmup';
    const summary = await runSeed({
      ...(toolPool ? { toolPool } : {}),
      node: this.d.node,
      runDir,
      config,
      dialogues,
      concurrency: this.loop.concurrency,
      signal: this.d.signal,
      onProgress: (p) => this.progress(stage, 0, p.finished, p.total, `${name}, accepted ${p.accepted}`),
    });
    if (!summary.complete)
      throw new LooptoolError({
        code: summary.unavailable ? 'unavailable' : 'internal',
        message: `the ${name} stopped after ${summary.finished}/${summary.dialogues} dialogues${summary.unavailable ? ` (not attempted: ${summary.unavailable}); resume the run when the endpoint is back` : ''}`,
      });
    return readJsonl(seedFiles(runDir).samples, Sample).records.filter((s) => !s.masked);
  }

  /** `n` tool sets from the API designer, once per run (kept in round-0/toolsets.jsonl). */
  private async toolPool(n: number): Promise<ToolSpec[][]> {
    const rel = 'round-0/toolsets.jsonl';
    const Rec = z.object({ type: z.literal('toolset'), index: z.number().int(), tools: z.array(ToolSpec) });
    if (this.store.exists(rel)) {
      const sets = this.store.read(rel, Rec);
      if (sets.length === n) return sets.map((s) => s.tools);
    }
    const count = this.d.config.seeding.tools ?? this.d.config.sim.designer.toolsPerSet;
    const sets: ToolSpec[][] = [];
    const constraints = this.loop.toolConstraints;
    for (let i = 0; i < n; i++) sets.push((await this.call(ApiDesignerContract, 'design', { seed: this.seed('toolset', i), count, ...(constraints ? { constraints } : {}) })).tools);
    this.store.write(rel, sets.map((tools, index) => ({ type: 'toolset', index, tools })));
    return sets;
  }

  /** The head of the seed pool the warm-up trains on (none when it is off or trains on its own stream). */
  private warmupSamples(pool: Sample[]): Sample[] {
    const w = this.loop.warmup;
    return w.enabled && w.source === 'pool' ? pool.slice(0, Math.max(1, Math.round(pool.length * w.share))) : [];
  }

  /** The warm-up's own stream (warmup.source "stream"): the world's tools, none of the seed pool's samples. */
  private async warmupStream(): Promise<Sample[]> {
    const w = this.loop.warmup;
    const toolPool = this.loop.toolSets > 0 ? await this.toolPool(this.loop.toolSets) : undefined;
    const samples = await this.simulatedStream('warmup-stream', w.dialogues || this.dialoguesFor(this.pool().length), toolPool);
    if (samples.length === 0) throw new LooptoolError({ code: 'internal', message: 'the warm-up stream produced no usable sample' });
    return samples;
  }

  /** The static baseline never reuses seed data: refuse at once a pool too small for every round. */
  private checkStaticPool(): void {
    if (!this.d.ablations.static) return;
    const need = staticPoolNeed(this.loop.budget, this.loop.rounds);
    const have = this.pool().length;
    if (have < need)
      throw new LooptoolError({
        code: 'invalid_input',
        message: `the static baseline needs ${need} fresh seed samples (loop.budget ${this.loop.budget} × ${this.loop.rounds} rounds), the seed pool holds ${have}; simulate more seed dialogues (loop.seedDialogues) or lower loop.budget`,
      });
  }

  private baseStore(): RunStore {
    return new RunStore(join(this.store.dir, '..', this.d.base!));
  }

  private async warmup(): Promise<StageSummary> {
    const cached = this.done(0, 'warmup');
    if (cached) return cached;
    const t0 = performance.now();
    if (this.d.base) {
      const base = this.baseStore();
      if (!base.exists('round-0/train.json')) throw new LooptoolError({ code: 'invalid_input', message: `base run ${this.d.base} has no finished warm-up (round-0/train.json)` });
      // The base's checkpoint path is relative to the base run: re-anchor it here.
      const t = base.readJson('round-0/train.json', TrainSummary);
      const checkpoint = typeof t.checkpoint === 'string' ? base.absPath(t.checkpoint) : null;
      this.store.writeJson('round-0/train.json', { ...t, ...this.trainRecord({ checkpoint }) });
      return this.finish(0, 'warmup', t0, ['round-0/train.json'], { base: 1 }, checkpoint);
    }
    const w = this.loop.warmup;
    if (!w.enabled) {
      this.store.writeJson('round-0/train.json', { skipped: true, checkpoint: null });
      return this.finish(0, 'warmup', t0, ['round-0/train.json'], { skipped: 1 }, null);
    }
    const samples = w.source === 'stream' ? await this.warmupStream() : this.warmupSamples(this.pool());
    await this.policy.ensure(null);
    this.progress('warmup', 0, 0, w.epochs, `${samples.length} samples`);
    const out = await this.watchTrainer('warmup', 0, () =>
      this.policy
        .sft({ samples, epochs: w.epochs, batch_size: w.batch_size, lr: w.lr, seed: intSeed(this.d.config.seed, 'warmup'), reset_optimizer: true }, `${this.run}.r0.warmup`)
        .catch((err) => {
          this.policy.forget();
          throw err;
        }),
    );
    this.progress('warmup', 0, w.epochs, w.epochs, `loss ${out.loss_first.toFixed(3)} → ${out.loss_last.toFixed(3)}`);
    this.store.writeJson('round-0/train.json', { kind: 'sft', samples: samples.length, ...out, ...this.trainRecord(out) });
    return this.finish(0, 'warmup', t0, ['round-0/train.json'], { samples: samples.length, steps: out.steps, loss_first: out.loss_first, loss_last: out.loss_last }, out.checkpoint);
  }

  // ------------------------------------------------------------------ rounds

  private async training(j: number): Promise<StageSummary> {
    const cached = this.done(j, 'training');
    if (cached) return cached;
    const t0 = performance.now();
    const t = this.loop.train;
    await this.policy.ensure(this.checkpointAfter(j - 1));
    const samples = this.data(j)
      .map((p) => p.sample)
      .filter((s) => !s.masked);
    if (samples.length === 0) throw new LooptoolError({ code: 'internal', message: `D_${j} is empty: nothing to train on` });
    this.progress('training', j, 0, 1, `${samples.length} samples`);
    const fail = (err: unknown) => {
      this.policy.forget();
      throw err;
    };
    let sft: Record<string, unknown> | undefined;
    if (t.sft_mix > 0) {
      sft = await this.watchTrainer('training', j, () => this.policy
        .sft({ samples, epochs: t.sft_mix, batch_size: this.loop.warmup.batch_size, lr: t.sft_lr, seed: intSeed(this.d.config.seed, 'sft', j), reset_optimizer: true }, `${this.run}.r${j}.sft`)
        .catch(fail));
    }
    const out = await this.watchTrainer('training', j, () => this.policy
      .grpo(
        {
          samples,
          round: j,
          batch_size: t.batch_size,
          seed: intSeed(this.d.config.seed, 'grpo', j),
          settings: { group_size: t.group_size, lr: t.lr, epochs: t.epochs, temperature: t.temperature, max_new_tokens: t.max_new_tokens, reset_optimizer: true },
        },
        `${this.run}.r${j}.grpo`,
      )
      .catch(fail));
    this.progress('training', j, 1, 1, `reward ${out.reward_first.toFixed(3)} → ${out.reward_last.toFixed(3)}`);
    this.store.writeJson(`round-${j}/train.json`, { kind: 'grpo', samples: samples.length, ...out, ...this.trainRecord(out), ...(sft ? { sft: { ...sft, ...this.trainRecord(sft as { checkpoint?: string | null }) } } : {}) });
    return this.finish(j, 'training', t0, [`round-${j}/train.json`], { samples: samples.length, steps: out.steps, reward_first: out.reward_first, reward_last: out.reward_last, reward_mean: out.reward_mean }, out.checkpoint);
  }

  /** Greedy answers of the current policy to `samples`, in batches, cached per batch. */
  private async probeAll(j: number, stage: 'probing' | 'eval', samples: Sample[], maxTokens: number): Promise<Map<string, ProbeRecord>> {
    const cache = this.store.cache(`round-${j}/${stage}.partial.jsonl`, ProbeRecord, (r) => r.id);
    const todo = chunks(
      samples.filter((s) => !cache.done.has(s.id)),
      this.loop.probe.batch,
    );
    let done = cache.done.size;
    this.progress(stage === 'eval' ? 'evaluating' : 'probing', j, done, samples.length);
    await mapLimit(
      todo,
      Math.max(1, Math.min(2, this.loop.concurrency)),
      async (batch) => {
        const out = await this.call(
          ProberContract,
          'probe',
          { samples: batch.map((s) => publicView(s)), max_new_tokens: maxTokens },
          { id: `${this.run}.r${j}.${stage}.${batch[0]!.id}.${batch.length}` },
        );
        const recs: ProbeRecord[] = out.results.map((r, i) => ({ type: 'probe', round: Math.max(1, j), kind: batch[i]!.kind, ...r }));
        cache.add(recs);
        done += recs.length;
        this.progress(stage === 'eval' ? 'evaluating' : 'probing', j, done, samples.length);
        crashPoint(stage === 'eval' ? (j === 0 ? 'baseline' : 'evaluating') : 'probing', j, done);
      },
      this.d.signal,
    );
    return cache.done;
  }

  private async probing(j: number): Promise<StageSummary> {
    const cached = this.done(j, 'probing');
    if (cached) return cached;
    const t0 = performance.now();
    await this.policy.ensure(this.checkpointAfter(j));
    const samples = this.data(j).map((p) => p.sample);
    const got = await this.probeAll(j, 'probing', samples, this.loop.probe.max_new_tokens);
    const recs = samples.map((s) => got.get(s.id)!);
    this.store.write(`round-${j}/probes.jsonl`, recs);
    this.store.cache(`round-${j}/probing.partial.jsonl`, ProbeRecord, (r) => r.id).clear();
    const mastered = recs.filter((r) => r.mastered).length;
    return this.finish(j, 'probing', t0, [`round-${j}/probes.jsonl`], { probed: recs.length, mastered, failed: recs.length - mastered });
  }

  private async verifying(j: number): Promise<StageSummary> {
    const cached = this.done(j, 'verifying');
    if (cached) return cached;
    const t0 = performance.now();
    const byId = new Map(this.data(j).map((p) => [p.sample.id, p.sample]));
    const failed = this.probes(j).filter((p) => !p.mastered);
    const votes = this.loop.jglvVotes;
    const cache = this.store.cache(`round-${j}/verifying.partial.jsonl`, VerdictRecord, (r) => r.id);
    let done = cache.done.size;
    this.progress('verifying', j, done, failed.length);
    await mapLimit(
      failed.filter((p) => !cache.done.has(p.id)),
      this.loop.concurrency,
      async (p) => {
        const sample = byId.get(p.id)!;
        const cast: { verdict: VerifyVerdict; analysis: string }[] = [];
        // votes one after the other, stopping once the rest cannot change the majority
        for (let k = 0; k < votes && !decided(cast.map((c) => c.verdict), votes); k++) {
          const v = await this.call(
            JudgeContract,
            'verify',
            { seed: this.seed('jglv', j, p.id, 'vote', k), sample: publicView(sample), prediction: p.prediction, ...(sample.truth ? { hidden: { truth: sample.truth } } : {}) },
            { id: `${this.run}.r${j}.verify.${p.id}.${k}` },
          );
          cast.push(v);
        }
        const tally = majorityVerdict(cast.map((c) => c.verdict));
        const rec: VerdictRecord = {
          type: 'verdict',
          round: j,
          id: p.id,
          verdict: tally.verdict,
          votes: cast.map((c) => c.verdict),
          analysis: cast.find((c) => c.verdict === tally.verdict)!.analysis,
          action: ACTION_OF[tally.verdict],
          ...(tally.verdict === 'LABEL_WRONG' ? { corrected: applyVerdict(sample, 'LABEL_WRONG', p.prediction, j)!.id } : {}),
          ...(sample.truth ? { truth: trueVerdict(sample.label, p.prediction, sample.truth) } : {}),
        };
        cache.add([rec]);
        this.progress('verifying', j, ++done, failed.length);
        crashPoint('verifying', j, done);
      },
      this.d.signal,
    );
    const recs = failed.map((p) => cache.done.get(p.id)!);
    this.store.write(`round-${j}/verdicts.jsonl`, recs);
    cache.clear();
    const count = (v: VerifyVerdict) => recs.filter((r) => r.verdict === v).length;
    return this.finish(j, 'verifying', t0, [`round-${j}/verdicts.jsonl`], {
      verified: recs.length,
      pred_wrong: count('PRED_WRONG'),
      label_wrong: count('LABEL_WRONG'),
      both_correct: count('BOTH_CORRECT'),
      both_wrong: count('BOTH_WRONG'),
    });
  }

  /**
   * The samples EDDE expands: the error seeds (PRED_WRONG with their label, and LABEL_WRONG
   * with the label JGLV corrected), each with the policy's answer and the judge's analysis.
   * The random-expansion control draws as many samples of D_j at random instead, so that it
   * differs from the loop only in which samples are expanded.
   */
  private errorSeedsOf(j: number): { sample: Sample; prediction: ProbeRecord['prediction']; analysis: string }[] {
    const byId = new Map(this.data(j).map((p) => [p.sample.id, p.sample]));
    const probes = new Map(this.probes(j).map((p) => [p.id, p]));
    const seeds = !this.d.ablations.jglv
      ? [...probes.values()].filter((p) => !p.mastered).map((p) => ({ sample: byId.get(p.id)!, prediction: p.prediction, analysis: '' }))
      : this.verdicts(j)
          .filter((v) => v.verdict === 'PRED_WRONG' || v.verdict === 'LABEL_WRONG')
          .map((v) => {
            const sample = byId.get(v.id)!;
            const prediction = probes.get(v.id)!.prediction;
            return { sample: v.verdict === 'LABEL_WRONG' ? applyVerdict(sample, 'LABEL_WRONG', prediction, j)! : sample, prediction, analysis: v.analysis };
          });
    if (!this.d.ablations.randomExpansion) return seeds;
    return seededOrder([...byId.values()], this.seed('random-expansion', j))
      .slice(0, seeds.length)
      .map((sample) => ({ sample, prediction: probes.get(sample.id)?.prediction ?? sample.label, analysis: '' }));
  }

  private async expanding(j: number): Promise<StageSummary> {
    const cached = this.done(j, 'expanding');
    if (cached) return cached;
    const t0 = performance.now();
    const seeds = this.errorSeedsOf(j);
    const k = this.loop.expansions;
    const slots = seeds.flatMap((s) => Array.from({ length: k }, (_, slot) => ({ ...s, slot })));
    const key = (parent: string, slot: number) => `${parent}#${slot}`;
    const cache = this.store.cache(`round-${j}/expanding.partial.jsonl`, ExpansionRecord, (r) => key(r.parent, r.slot));
    let done = cache.done.size;
    this.progress('expanding', j, done, slots.length);
    await mapLimit(
      slots.filter((s) => !cache.done.has(key(s.sample.id, s.slot))),
      this.loop.concurrency,
      async ({ sample, prediction, analysis, slot }) => {
        // variations rotate over the slots, starting at a place fixed by the seed's id
        const start = intSeed(sample.id) % VARIATIONS.length;
        const variation = VARIATIONS[(start + slot) % VARIATIONS.length]!;
        let reason = '';
        let rec: ExpansionRecord | undefined;
        for (let attempt = 0; attempt < this.loop.expansionAttempts && !rec; attempt++) {
          const seed = this.seed('edde', j, sample.id, slot, attempt);
          const callId = `${this.run}.r${j}.expand.${sample.id}.${slot}.${attempt}`;
          try {
            const out = await this.call(
              ExpanderContract,
              'expand',
              { seed, round: j, slot, sample: publicView(sample), prediction, analysis, variation, ...(sample.truth ? { hidden: { truth: sample.truth } } : {}) },
              { id: callId },
            );
            const v = await this.call(
              ValidatorContract,
              'validate',
              {
                tools: out.sample.tools,
                messages: out.dialogue,
                requireToolUse: out.requireToolUse,
                seed: deriveSeed(seed, 'validate'),
                votes: this.loop.validationVotes,
                ...(out.hidden ? { hidden: out.hidden } : {}),
              },
              { id: `${callId}.validate` },
            );
            if (v.accepted) rec = { type: 'expansion', round: j, parent: sample.id, slot, variation, accepted: true, attempts: attempt + 1, sample: out.sample };
            else reason = v.reason ?? 'rejected';
          } catch (err) {
            // a generator that could not write the sample is a rejected attempt, not a failed stage,
            // unless the infrastructure failed (role not served, endpoint down): that is no data
            if (isInfrastructureError(err)) throw err;
            reason = `expander: ${(err as Error).message}`;
          }
        }
        rec ??= { type: 'expansion', round: j, parent: sample.id, slot, variation, accepted: false, attempts: this.loop.expansionAttempts, reason };
        cache.add([rec]);
        this.progress('expanding', j, ++done, slots.length);
        crashPoint('expanding', j, done);
      },
      this.d.signal,
    );
    const recs = slots.map((s) => cache.done.get(key(s.sample.id, s.slot))!);
    this.store.write(`round-${j}/expansions.jsonl`, recs);
    cache.clear();
    const accepted = recs.filter((r) => r.accepted).length;
    return this.finish(j, 'expanding', t0, [`round-${j}/expansions.jsonl`], { seeds: seeds.length, slots: recs.length, accepted, rejected: recs.length - accepted });
  }

  private async merging(j: number): Promise<StageSummary> {
    const cached = this.done(j, 'merging');
    if (cached) return cached;
    const t0 = performance.now();
    const pool = this.pool();
    const next = j + 1;
    let samples: Placed[];
    let composition: Composition;
    if (this.d.ablations.static) {
      try {
        ({ samples, composition } = staticRound(pool, this.loop.budget, next));
      } catch (err) {
        if (err instanceof RangeError) throw new LooptoolError({ code: 'invalid_input', message: `${err.message}; simulate more seed dialogues (loop.seedDialogues) or lower loop.budget` });
        throw err;
      }
    } else {
      const data = this.data(j);
      const byId = new Map(data.map((p) => [p.sample.id, p.sample]));
      const probes = this.probes(j);
      const verdicts = new Map(this.verdicts(j).map((v) => [v.id, v]));
      const errorSeeds: Sample[] = [];
      const candidates: { sample: Sample; ppl: number | null }[] = [];
      for (const p of probes) {
        const s = byId.get(p.id)!;
        if (p.mastered) {
          candidates.push({ sample: s, ppl: p.ppl });
          continue;
        }
        if (!this.d.ablations.jglv) {
          errorSeeds.push(s);
          continue;
        }
        const v = verdicts.get(p.id);
        if (!v) throw new LooptoolError({ code: 'internal', message: `round ${j}: failed sample ${p.id} has no verdict` });
        if (v.action === 'hppl_candidate') candidates.push({ sample: s, ppl: p.ppl });
        else if (v.action === 'error_seed') errorSeeds.push(s);
        else if (v.action === 'correct_label') errorSeeds.push(applyVerdict(s, 'LABEL_WRONG', p.prediction, j)!);
      }
      const expansions = this.expansions(j)
        .filter((e) => e.accepted && e.sample)
        .map((e) => e.sample!);
      // Seed-new is seed data the policy has never trained on: not in any D_i, nor in the warm-up.
      const used = new Set<string>(this.warmupSamples(pool).map((s) => s.id));
      for (let i = 1; i <= j; i++) for (const p of this.data(i)) used.add(p.sample.id);
      const unusedSeed = pool.filter((s) => !used.has(s.id));
      const m = mergeRound({
        round: next,
        budget: this.loop.budget,
        seedNewShare: this.loop.seedNewShare,
        hpplMinShare: this.loop.hpplMinShare,
        errorSeeds,
        expansions,
        candidates,
        unusedSeed,
        hppl: this.d.ablations.hppl,
        hpplOver: this.loop.hpplOver,
        seed: this.d.config.seed,
      });
      samples = m.samples;
      composition = m.composition;
    }
    this.store.write(`round-${next}/data.jsonl`, samples.map((p) => ({ type: 'sample', part: p.part, sample: p.sample })));
    crashPoint('merging', j, 0);
    this.store.writeJson(`round-${next}/composition.json`, composition);
    return this.finish(j, 'merging', t0, [`round-${next}/data.jsonl`, `round-${next}/composition.json`], { total: composition.total, ...composition.parts, duplicates: composition.duplicates });
  }

  private async evaluating(j: number): Promise<StageSummary> {
    const stage: Stage = 'evaluating';
    const cached = this.done(j, stage);
    if (cached) return cached;
    const t0 = performance.now();
    if (j === 0 && this.d.base) {
      const base = this.baseStore();
      for (const f of ['round-0/eval.jsonl', 'round-0/eval.json']) cpSync(base.path(f), this.store.path(f));
      const ev = this.store.readJson('round-0/eval.json', RoundEval);
      return this.finish(0, stage, t0, ['round-0/eval.jsonl', 'round-0/eval.json'], { accuracy: ev.test.accuracy, n: ev.test.n, base: 1 });
    }
    await this.policy.ensure(this.checkpointAfter(j));
    const useTruth = this.loop.eval.useTruth;
    const test = this.test().map((s) => (useTruth && s.truth ? { ...s, label: s.truth.label } : s));
    const got = await this.probeAll(j, 'eval', test, this.loop.eval.max_new_tokens);
    const maxTokens = this.loop.eval.max_new_tokens;
    const items: EvalItemRecord[] = test.map((s) => {
      const p = got.get(s.id)!;
      return {
        type: 'eval_item',
        round: j,
        split: 'test',
        id: s.id,
        kind: s.kind,
        skill: primarySkill(s),
        expectsCall: s.label.type === 'calls',
        called: p.prediction.type === 'calls',
        cutOff: p.tokens >= maxTokens,
        correct: p.mastered,
        text: p.text,
      };
    });
    const bfcl = this.loop.eval.bfcl ? await evalBfcl(this.call, this.loop.eval.bfcl, `${this.run}.r${j}.bfcl`) : undefined;
    const figures = evalFigures(
      items.map((i) => ({ kind: i.kind, skill: i.skill!, expectsCall: i.expectsCall!, called: i.called!, correct: i.correct })),
    );
    const summary: RoundEval = {
      type: 'eval',
      round: j,
      test: accuracy(items),
      figures,
      baselines: { 'never call': figures.neverCall.value, 'always call (at most)': figures.alwaysCall.value },
      cutOff: proportion(items.filter((i) => i.cutOff).length, items.length),
      ...(bfcl ? { bfcl } : {}),
    };
    if (j >= 1) {
      const data = this.data(j);
      summary.noise = labelNoiseRate(data.map((p) => p.sample));
      if (this.store.exists(`round-${j}/composition.json`)) summary.composition = this.store.readJson(`round-${j}/composition.json`, Composition);
      if (this.store.exists(`round-${j}/train.json`)) summary.train = this.store.readJson(`round-${j}/train.json`, TrainSummary);
      if (!this.d.ablations.static) {
        const probes = this.probes(j);
        const ppls = probes.map((p) => p.ppl).filter((x): x is number => x !== null);
        summary.probe = { n: probes.length, mastered: probes.filter((p) => p.mastered).length, meanPpl: ppls.length ? ppls.reduce((a, b) => a + b, 0) / ppls.length : null };
        const byId = new Map(data.map((p) => [p.sample.id, p.sample]));
        const pred = new Map(probes.map((p) => [p.id, p.prediction]));
        const verdicts = this.verdicts(j);
        if (verdicts.length || this.d.ablations.jglv)
          summary.jglv = jglvScores(
            verdicts.map((v) => {
              const s = byId.get(v.id)!;
              return { label: s.label, prediction: pred.get(v.id)!, truth: s.truth, verdict: v.verdict };
            }),
            data.map((p) => p.sample),
          );
        const ex = this.expansions(j);
        summary.expansion = { seeds: new Set(ex.map((e) => e.parent)).size, accepted: ex.filter((e) => e.accepted).length, rejected: ex.filter((e) => !e.accepted).length };
      }
    }
    this.store.write(`round-${j}/eval.jsonl`, items);
    this.store.writeJson(`round-${j}/eval.json`, summary);
    this.store.cache(`round-${j}/eval.partial.jsonl`, ProbeRecord, (r) => r.id).clear();
    return this.finish(j, stage, t0, [`round-${j}/eval.jsonl`, `round-${j}/eval.json`], { accuracy: summary.test.accuracy, n: summary.test.n, ...(bfcl?.overall != null ? { bfcl: bfcl.overall } : {}) });
  }
}

/**
 * The held-out test split: whole dialogues (their samples share context), drawn in a
 * seeded order until the split holds `size` samples; the rest is the seed pool.
 */
export function splitSeed(samples: readonly Sample[], size: number, seed: string): { pool: Sample[]; test: Sample[] } {
  const byDialogue = new Map<string, Sample[]>();
  for (const s of samples) {
    const d = s.provenance.dialogue ?? s.id;
    const list = byDialogue.get(d);
    if (list) list.push(s);
    else byDialogue.set(d, [s]);
  }
  const order = seededOrder(
    [...byDialogue.keys()].map((id) => ({ id })),
    seed,
  );
  const testIds = new Set<string>();
  let n = 0;
  for (const { id } of order) {
    if (n >= size) break;
    testIds.add(id);
    n += byDialogue.get(id)!.length;
  }
  const test: Sample[] = [];
  const pool: Sample[] = [];
  for (const s of samples) (testIds.has(s.provenance.dialogue ?? s.id) ? test : pool).push(s);
  return { pool, test };
}
