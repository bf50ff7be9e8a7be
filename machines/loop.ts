import { assign, fromPromise, setup } from 'xstate';
import type { Ablations } from '../protocols/loop/config.ts';

/**
 * The closed loop as one state machine (DESIGN.md §1, §2.5).
 *
 *   seeding → warmup → baseline ─┬─ rounds = 0 ──────────────────────────────→ done
 *                                └→ training → probing → verifying → expanding → merging → evaluating ─┬→ training (j+1)
 *                                                                                                      └→ done
 * Guards:
 *   static        training → merging (D_{j+1} is the next window of seed data) → evaluating
 *   no JGLV       probing skips verifying (every failed sample is an error seed)
 *   no EDDE       verifying (or probing) goes straight to merging
 *   rounds        evaluating → training while j < rounds
 *
 * Each state invokes one stage actor, `runStage`, with {stage, round}. Its work (calls to
 * roles over the bus, files in the run directory) is provided by the runtime
 * (runtime/loop/driver.ts) through `loopMachine.provide`, so this file stays free of I/O.
 * The driver persists the machine's snapshot after every transition; a snapshot restored
 * in a state re-invokes that state's stage, which the driver answers from the finished
 * outputs when the stage had in fact finished (resume: nothing lost, nothing done twice).
 */

export const LOOP_STAGES = ['seeding', 'warmup', 'baseline', 'training', 'probing', 'verifying', 'expanding', 'merging', 'evaluating'] as const;
export type LoopStage = (typeof LOOP_STAGES)[number];

export type StageInput = { stage: LoopStage; round: number };
/** A small JSON summary of a finished stage (counts, figures), kept in the machine's context. */
export type StageSummary = Record<string, number | string | boolean | null>;

export type LoopInput = {
  rounds: number;
  ablations: Ablations;
};

export type LoopContext = {
  rounds: number;
  round: number;
  ablations: Ablations;
  /** one entry per finished stage, in order */
  history: { stage: LoopStage; round: number; summary: StageSummary }[];
  error: string | null;
};

const stage = (name: LoopStage) => ({ context }: { context: LoopContext }): StageInput => ({
  stage: name,
  round: name === 'seeding' || name === 'warmup' || name === 'baseline' ? 0 : context.round,
});

export const loopMachine = setup({
  types: {
    context: {} as LoopContext,
    input: {} as LoopInput,
  },
  actors: {
    // Provided by the runtime; this default makes a machine started without it fail loudly.
    runStage: fromPromise<StageSummary, StageInput>(async ({ input }) => {
      throw new Error(`loop stage "${input.stage}" has no implementation (provide runStage)`);
    }),
  },
  actions: {
    record: assign(({ context, event }, params: { stage: LoopStage }) => ({
      history: [
        ...context.history,
        { stage: params.stage, round: stage(params.stage)({ context }).round, summary: ((event as { output?: unknown }).output ?? {}) as StageSummary },
      ],
    })),
    fail: assign(({ event }) => {
      const error = (event as { error?: unknown }).error;
      return { error: error instanceof Error ? error.message : String(error) };
    }),
    firstRound: assign({ round: 1 }),
    nextRound: assign(({ context }) => ({ round: context.round + 1 })),
  },
  guards: {
    isStatic: ({ context }) => context.ablations.static,
    jglvOn: ({ context }) => context.ablations.jglv,
    eddeOn: ({ context }) => context.ablations.edde,
    noRounds: ({ context }) => context.rounds < 1,
    moreRounds: ({ context }) => context.round < context.rounds,
  },
}).createMachine({
  id: 'loop',
  context: ({ input }) => ({ rounds: input.rounds, round: 0, ablations: input.ablations, history: [], error: null }),
  initial: 'seeding',
  states: {
    seeding: {
      invoke: { src: 'runStage', input: stage('seeding'), onDone: { target: 'warmup', actions: { type: 'record', params: { stage: 'seeding' } } }, onError: { target: 'failed', actions: 'fail' } },
    },
    warmup: {
      invoke: { src: 'runStage', input: stage('warmup'), onDone: { target: 'baseline', actions: { type: 'record', params: { stage: 'warmup' } } }, onError: { target: 'failed', actions: 'fail' } },
    },
    /** evaluation of the warmed-up policy: the round-0 point of every curve */
    baseline: {
      invoke: {
        src: 'runStage',
        input: stage('baseline'),
        onDone: [
          { guard: 'noRounds', target: 'done', actions: { type: 'record', params: { stage: 'baseline' } } },
          { target: 'training', actions: [{ type: 'record', params: { stage: 'baseline' } }, 'firstRound'] },
        ],
        onError: { target: 'failed', actions: 'fail' },
      },
    },
    training: {
      invoke: {
        src: 'runStage',
        input: stage('training'),
        onDone: [
          { guard: 'isStatic', target: 'merging', actions: { type: 'record', params: { stage: 'training' } } },
          { target: 'probing', actions: { type: 'record', params: { stage: 'training' } } },
        ],
        onError: { target: 'failed', actions: 'fail' },
      },
    },
    probing: {
      invoke: {
        src: 'runStage',
        input: stage('probing'),
        onDone: [
          { guard: 'jglvOn', target: 'verifying', actions: { type: 'record', params: { stage: 'probing' } } },
          { guard: 'eddeOn', target: 'expanding', actions: { type: 'record', params: { stage: 'probing' } } },
          { target: 'merging', actions: { type: 'record', params: { stage: 'probing' } } },
        ],
        onError: { target: 'failed', actions: 'fail' },
      },
    },
    verifying: {
      invoke: {
        src: 'runStage',
        input: stage('verifying'),
        onDone: [
          { guard: 'eddeOn', target: 'expanding', actions: { type: 'record', params: { stage: 'verifying' } } },
          { target: 'merging', actions: { type: 'record', params: { stage: 'verifying' } } },
        ],
        onError: { target: 'failed', actions: 'fail' },
      },
    },
    expanding: {
      invoke: { src: 'runStage', input: stage('expanding'), onDone: { target: 'merging', actions: { type: 'record', params: { stage: 'expanding' } } }, onError: { target: 'failed', actions: 'fail' } },
    },
    merging: {
      invoke: { src: 'runStage', input: stage('merging'), onDone: { target: 'evaluating', actions: { type: 'record', params: { stage: 'merging' } } }, onError: { target: 'failed', actions: 'fail' } },
    },
    evaluating: {
      invoke: {
        src: 'runStage',
        input: stage('evaluating'),
        onDone: [
          { guard: 'moreRounds', target: 'training', actions: [{ type: 'record', params: { stage: 'evaluating' } }, 'nextRound'] },
          { target: 'done', actions: { type: 'record', params: { stage: 'evaluating' } } },
        ],
        onError: { target: 'failed', actions: 'fail' },
      },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
});

export type LoopMachine = typeof loopMachine;

/** The stages one round goes through under these switches, in order. */
export function roundStages(a: Ablations): LoopStage[] {
  if (a.static) return ['training', 'merging', 'evaluating'];
  return ['training', 'probing', ...(a.jglv ? (['verifying'] as const) : []), ...(a.edde ? (['expanding'] as const) : []), 'merging', 'evaluating'];
}
