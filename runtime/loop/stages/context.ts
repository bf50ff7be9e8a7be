import { join } from 'node:path';
import { z } from 'zod';
import { RunConfig } from '../../../protocols/config.ts';
import { LooptoolError } from '../../../protocols/errors.ts';
import type { Ablations } from '../../../protocols/loop/config.ts';
import { interleaveEvenly, type Placed } from '../../../protocols/loop/merge.ts';
import { ExpansionRecord, ProbeRecord, SampleRecord, VerdictRecord, type Manifest } from '../../../protocols/loop/records.ts';
import type { Stage } from '../../../protocols/loop/stages.ts';
import type { CallFn } from '../../../protocols/role.ts';
import { canonicalJson, type JsonValue } from '../../../protocols/json.ts';
import { dialogueTrace } from '../../../protocols/dialogue.ts';
import type { ChatMessage } from '../../../protocols/messages.ts';
import { deriveRngSeed, intSeed } from '../../../protocols/rng.ts';
import type { Sample } from '../../../protocols/sample.ts';
import type { StageSummary } from '../../../machines/loop.ts';
import type { LooptoolNode } from '../../bus/node.ts';
import { crashPoint } from '../crash.ts';
import { storedRunConfig } from '../../run-config.ts';
import { PolicyPort } from '../policy.ts';
import type { LoopCheckpointer } from '../checkpoint/index.ts';
import { unlessPruned } from '../prune.ts';
import { findStage, RunStore, type FileInfo } from '../store.ts';

/** What a stage reports as it goes (the CLI draws bars from it; traces carry it too). */
export type StageProgress = { stage: string; round: number; done: number; total: number; note?: string };

export type StageDeps = {
  node: LooptoolNode;
  store: RunStore;
  /** the manifest and the per-item caches of stages in progress */
  checkpoints: LoopCheckpointer;
  config: RunConfig;
  ablations: Ablations;
  /** run whose round 0 (seed pool, test split, warm-up, baseline) this run reuses */
  base?: string;
  onProgress?: (p: StageProgress) => void;
  signal?: AbortSignal;
};

/** What a trainer reported, as train.json keeps it. */
export const TrainSummary = z.record(z.string(), z.unknown());
export type TrainSummary = z.infer<typeof TrainSummary>;

/**
 * What every stage needs: the run's deps, its files (the outputs earlier stages left),
 * progress reports, and the manifest, where a stage is recorded once its files are
 * written. Stages are functions of this context (one module each, beside this one).
 */
export class StageContext {
  readonly policy: PolicyPort;
  readonly call: CallFn;
  private manifest: Manifest;

  constructor(
    readonly d: StageDeps,
    manifest: Manifest,
  ) {
    this.manifest = manifest;
    this.call = d.node.call;
    this.policy = new PolicyPort(this.call);
  }

  get loop() {
    return this.d.config.loop;
  }

  get config(): RunConfig {
    return this.d.config;
  }

  get ablations(): Ablations {
    return this.d.ablations;
  }

  get store(): RunStore {
    return this.d.store;
  }

  get checkpoints(): LoopCheckpointer {
    return this.d.checkpoints;
  }

  get node(): LooptoolNode {
    return this.d.node;
  }

  get run(): string {
    return this.d.node.run;
  }

  get signal(): AbortSignal | undefined {
    return this.d.signal;
  }

  /**
   * The seed of one training request's own randomness (batch order, GRPO sampling): from
   * the run seed, and loop.trainSeed when set, so that training can be replicated on the
   * same world while the seeds of an ablation still differ from one another.
   */
  trainSeed(...parts: (string | number)[]): number {
    const replicate = this.loop.trainSeed;
    return replicate === undefined ? intSeed(this.d.config.seed, ...parts) : intSeed(this.d.config.seed, 'train', replicate, ...parts);
  }

  /** A random seed for one request of this run (not seed data). */
  rngSeed(...parts: (string | number)[]): string {
    return deriveRngSeed(this.d.config.seed, ...parts);
  }

  progress(stage: string, round: number, done: number, total: number, note?: string): void {
    this.d.onProgress?.({ stage, round, done, total, note });
    this.d.node.publish({ role: 'loop', kind: 'progress', actor: `loop/${this.run}`, data: { stage, round, done, total, ...(note ? { note } : {}) } });
  }

  /**
   * What a stage made of one sample, for the viewer's conversation view: the messages (the
   * sample's conversation and the answer given to it), then the outcome as the verdict's
   * line. Traced as seeding traces its dialogues (role `dialogue`), under `dialogue`, an id
   * of the stage, round and sample; a later outcome under the same id joins the transcript.
   */
  converse(dialogue: string, messages: readonly ChatMessage[], outcome?: { status: string; reason?: string }): void {
    messages.forEach((message, index) => this.d.node.publish(dialogueTrace(dialogue, 'message', { index, message: message as unknown as JsonValue })));
    if (outcome) this.d.node.publish(dialogueTrace(dialogue, 'progress', { status: outcome.status, ...(outcome.reason ? { reason: outcome.reason } : {}) }));
  }

  /**
   * Runs the trainer call `call` (`work` makes it under that id), forwarding the trainer's
   * progress events (steps of a warm-up or a GRPO round) and keeping the metrics of each of
   * the call's steps in `steps` (loss, reward, KL, gradient norm, ...), so that a run folder
   * shows what each step did.
   */
  async watchTrainer<T>(stage: string, round: number, call: string, work: (call: string) => Promise<T>, steps: JsonValue[]): Promise<T> {
    const unwatch = this.d.node.watchTraces('trainer', ['progress', 'metric'], (e) => {
      if (e.kind === 'metric') {
        if (e.msg !== call || !e.data || typeof e.data !== 'object' || Array.isArray(e.data)) return;
        // `step` counts the worker's steps since it started, which a resumed run's worker does not share
        const { step: _sinceStart, ...metrics } = e.data;
        steps.push(metrics);
        return;
      }
      const p = e.data as { done?: unknown; total?: unknown; loss?: unknown; reward_mean?: unknown } | null;
      if (!p || typeof p.done !== 'number' || typeof p.total !== 'number') return;
      const note = typeof p.loss === 'number' ? `loss ${p.loss.toFixed(3)}` : typeof p.reward_mean === 'number' ? `reward ${p.reward_mean.toFixed(3)}` : undefined;
      this.progress(stage, round, p.done, p.total, note);
      // Inside for certain: the trainer has reported a step and the stage is not recorded yet.
      crashPoint(stage, round, p.done);
    });
    try {
      return await work(call);
    } finally {
      unwatch();
    }
  }

  // ------------------------------------------------------------------ manifest

  currentManifest(): Manifest {
    return this.manifest;
  }

  /** The summary of a stage the manifest lists as finished: it answers from its files and does nothing again. */
  done(round: number, stage: Stage): StageSummary | undefined {
    const e = findStage(this.manifest, round, stage);
    return e ? { ...e.counts, cached: true } : undefined;
  }

  /** Records a finished stage (after its files are written). */
  finish(round: number, stage: Stage, t0: number, files: string[], counts: Record<string, number>, checkpoint?: string | null): StageSummary {
    const fileInfo: Record<string, FileInfo> = {};
    for (const f of files) {
      const info = this.store.fileInfo(f);
      if (!info) throw new LooptoolError({ code: 'internal', message: `stage ${stage}@${round} finished without writing ${f}` });
      fileInfo[f] = info;
    }
    const entry = { round, stage, finishedAt: new Date().toISOString(), seconds: (performance.now() - t0) / 1000, files: fileInfo, counts };
    const stages = this.manifest.stages.filter((s) => !(s.round === round && s.stage === stage));
    this.manifest = { ...this.manifest, stages: [...stages, entry], ...(checkpoint !== undefined ? { checkpoint: checkpoint === null ? null : this.store.relPath(checkpoint) } : {}) };
    this.d.checkpoints.put('manifest', this.manifest);
    return { ...counts, seconds: Math.round(entry.seconds * 1000) / 1000 };
  }

  /** A trainer's summary as train.json keeps it: the checkpoint relative to the run directory. */
  trainRecord(out: { checkpoint?: string | null }): { checkpoint: string | null } {
    return { checkpoint: out.checkpoint ? this.store.relPath(out.checkpoint) : null };
  }

  // ------------------------------------------------------------------ what earlier stages left

  pool(): Sample[] {
    return this.store.read('round-0/pool.jsonl', SampleRecord).map((r) => r.sample);
  }

  test(): Sample[] {
    return this.store.read('round-0/test.jsonl', SampleRecord).map((r) => r.sample);
  }

  /** The validation split (loop.eval.validationSize); none when the run drew none. */
  validation(): Sample[] {
    return this.store.exists('round-0/validation.jsonl') ? this.store.read('round-0/validation.jsonl', SampleRecord).map((r) => r.sample) : [];
  }

  data(j: number): Placed[] {
    return this.store.read(`round-${j}/data.jsonl`, SampleRecord).map((r) => ({ part: r.part ?? 'seed', sample: r.sample }));
  }

  probes(j: number): ProbeRecord[] {
    return this.store.read(`round-${j}/probes.jsonl`, ProbeRecord);
  }

  /** The seed samples probed fresh beside D_j (loop.probe.fresh); none when off. */
  fresh(j: number): Sample[] {
    return this.store.exists(`round-${j}/fresh.jsonl`) ? this.store.read(`round-${j}/fresh.jsonl`, SampleRecord).map((r) => r.sample) : [];
  }

  freshProbes(j: number): ProbeRecord[] {
    return this.store.exists(`round-${j}/fresh-probes.jsonl`) ? this.store.read(`round-${j}/fresh-probes.jsonl`, ProbeRecord) : [];
  }

  /**
   * What round j probed, as JGLV, EDDE and the merge route it: D_j's samples and the fresh
   * ones by id, and their probes, the two evenly interleaved (error seeds are taken in this
   * order when the budget cannot hold them all).
   */
  probed(j: number): { samples: Map<string, Sample>; probes: ProbeRecord[] } {
    const samples = new Map([...this.data(j).map((p) => p.sample), ...this.fresh(j)].map((s) => [s.id, s]));
    return { samples, probes: interleaveEvenly(this.probes(j), this.freshProbes(j)) };
  }

  verdicts(j: number): VerdictRecord[] {
    return this.store.exists(`round-${j}/verdicts.jsonl`) ? this.store.read(`round-${j}/verdicts.jsonl`, VerdictRecord) : [];
  }

  expansions(j: number): ExpansionRecord[] {
    return this.store.exists(`round-${j}/expansions.jsonl`) ? this.store.read(`round-${j}/expansions.jsonl`, ExpansionRecord) : [];
  }

  /** What a finished warm-up (j = 0) or training stage (j >= 1) reported (round-j/train.json); undefined before it. */
  trainSummary(j: number): TrainSummary | undefined {
    const rel = `round-${j}/train.json`;
    return this.store.exists(rel) ? this.store.readJson(rel, TrainSummary) : undefined;
  }

  /** The policy checkpoint a train summary names, as an absolute path (null: the base model). */
  checkpointIn(t: TrainSummary | undefined): string | null {
    return typeof t?.checkpoint === 'string' ? unlessPruned(this.manifest, t.checkpoint, this.store.absPath(t.checkpoint)) : null;
  }

  /** The policy checkpoint a finished warm-up (j = 0) or training stage (j >= 1) left. */
  checkpointAfter(j: number): string | null {
    return this.checkpointIn(this.trainSummary(j));
  }

  /** The run whose round 0 this run reuses (`base`), a sibling directory. */
  baseStore(): RunStore {
    return new RunStore(join(this.store.dir, '..', this.d.base!));
  }

  /**
   * Files the base run's round-j training summary (round-j/train.json) as this run's, its
   * checkpoints re-anchored here (the base's paths are relative to the base run), and
   * returns it with the checkpoint as an absolute path.
   */
  adoptBaseTraining(j: number): { summary: TrainSummary; checkpoint: string | null } {
    const base = this.baseStore();
    const rel = `round-${j}/train.json`;
    const t = base.readJson(rel, TrainSummary);
    const here = (c: unknown) => this.trainRecord({ checkpoint: typeof c === 'string' ? base.absPath(c) : null });
    const sft = t.sft && typeof t.sft === 'object' ? { sft: { ...t.sft, ...here((t.sft as TrainSummary).checkpoint) } } : {};
    const summary = { ...t, ...here(t.checkpoint), ...sft, base: this.d.base };
    this.store.writeJson(rel, summary);
    return { summary, checkpoint: this.checkpointIn(summary) };
  }

  /**
   * Whether round j's training is the base run's: round 1 trains on D_1, which every variant
   * copies from the base at seeding, with settings that differ from the base's only in the
   * ablations, none of which acts before round 1's training ends. Then the base's training,
   * probing and evaluation of round 1 are this run's too (the same seeded computation): the
   * training stage decides it once and adopts the base's (adoptBaseTraining); later stages
   * read that decision back (adoptedBaseRound). Later rounds train on the variant's own D_j.
   */
  sharesBaseRound(j: number): boolean {
    if (!this.d.base || j !== 1) return false;
    const base = this.baseStore();
    if (!base.exists('round-1/train.json') || !base.exists('config.json')) return false;
    const mine = this.store.fileInfo('round-1/data.jsonl');
    const theirs = base.fileInfo('round-1/data.jsonl');
    if (!mine || !theirs || mine.checksum !== theirs.checksum) return false;
    const settings = (c: RunConfig) => {
      const { loop, ...rest } = c;
      const { ablations: _a, ...loopRest } = loop;
      return canonicalJson({ ...rest, loop: loopRest } as unknown as JsonValue);
    };
    return settings(base.readJson('config.json', RunConfig)) === settings(storedRunConfig(this.config));
  }

  /** Whether round j's training was adopted from the base run (its train.json names the base), so its probes and test answers are the base's too. */
  adoptedBaseRound(j: number): boolean {
    return j >= 1 && typeof this.trainSummary(j)?.base === 'string';
  }
}
