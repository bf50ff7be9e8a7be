import { assign, fromPromise, setup, type PromiseActorLogic } from 'xstate';
import type { Ablations } from '../protocols/loop/config.ts';
import { isPerRound, LOOP_STAGES, ROUND_STAGES, type LoopStage } from '../protocols/loop/stages.ts';

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
 * Each stage of protocols/loop/stages.ts is one state that invokes one actor of the same
 * name with {stage, round}. Their work (calls to roles over the bus, files in the run
 * directory) is provided by the runtime (runtime/loop/driver.ts, one module per stage under
 * runtime/loop/stages/) through `loopMachine.provide`, so this file stays free of I/O.
 * The driver persists the machine's snapshot after every transition; a snapshot restored
 * in a state re-invokes that state's actor, which answers from the finished outputs when
 * the stage had in fact finished (resume: nothing lost, nothing done twice).
 */

export type StageInput = { stage: LoopStage; round: number };
/** A small JSON summary of a finished stage (counts, figures), kept in the machine's context. */
export type StageSummary = Record<string, number | string | boolean | null>;
export type StageActor = PromiseActorLogic<StageSummary, StageInput>;

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

type GuardArgs = { context: Pick<LoopContext, 'ablations' | 'round' | 'rounds'> };
const guards = {
  isStatic: ({ context }: GuardArgs) => context.ablations.static,
  jglvOn: ({ context }: GuardArgs) => context.ablations.jglv,
  eddeOn: ({ context }: GuardArgs) => context.ablations.edde,
  noRounds: ({ context }: GuardArgs) => context.rounds < 1,
  moreRounds: ({ context }: GuardArgs) => context.round < context.rounds,
};
type Guard = keyof typeof guards;
type Edge = { guard?: Guard; target: LoopStage | 'done'; then?: 'firstRound' | 'nextRound' };

/** Where each stage goes once it is done: the diagram above, first matching guard wins. */
const AFTER: Record<LoopStage, readonly Edge[]> = {
  seeding: [{ target: 'warmup' }],
  warmup: [{ target: 'baseline' }],
  /** evaluation of the warmed-up policy: the round-0 point of every curve */
  baseline: [{ guard: 'noRounds', target: 'done' }, { target: 'training', then: 'firstRound' }],
  training: [{ guard: 'isStatic', target: 'merging' }, { target: 'probing' }],
  probing: [{ guard: 'jglvOn', target: 'verifying' }, { guard: 'eddeOn', target: 'expanding' }, { target: 'merging' }],
  verifying: [{ guard: 'eddeOn', target: 'expanding' }, { target: 'merging' }],
  expanding: [{ target: 'merging' }],
  merging: [{ target: 'evaluating' }],
  evaluating: [{ guard: 'moreRounds', target: 'training', then: 'nextRound' }, { target: 'done' }],
};

const roundOf = (stage: LoopStage, context: LoopContext): number => (isPerRound(stage) ? context.round : 0);

// Provided by the runtime; these defaults make a machine started without them fail loudly.
const unprovided = (stage: LoopStage): StageActor =>
  fromPromise<StageSummary, StageInput>(async () => {
    throw new Error(`loop stage "${stage}" has no implementation (provide the "${stage}" actor)`);
  });
const stageActors = Object.fromEntries(LOOP_STAGES.map((s) => [s, unprovided(s)])) as Record<LoopStage, StageActor>;

const machineSetup = setup({
  types: {
    context: {} as LoopContext,
    input: {} as LoopInput,
  },
  actors: stageActors,
  actions: {
    record: assign(({ context, event }, params: { stage: LoopStage }) => ({
      history: [...context.history, { stage: params.stage, round: roundOf(params.stage, context), summary: ((event as { output?: unknown }).output ?? {}) as StageSummary }],
    })),
    fail: assign(({ event }) => {
      const error = (event as { error?: unknown }).error;
      return { error: error instanceof Error ? error.message : String(error) };
    }),
    firstRound: assign({ round: 1 }),
    nextRound: assign(({ context }) => ({ round: context.round + 1 })),
  },
  guards,
});

const stageState = (stage: LoopStage) => ({
  invoke: {
    src: stage,
    input: ({ context }: { context: LoopContext }): StageInput => ({ stage, round: roundOf(stage, context) }),
    onDone: AFTER[stage].map((e) => ({
      ...(e.guard ? { guard: e.guard } : {}),
      target: e.target,
      actions: [{ type: 'record' as const, params: { stage } }, ...(e.then ? [e.then] : [])],
    })),
    onError: { target: 'failed', actions: 'fail' as const },
  },
});

export const loopMachine = machineSetup.createMachine({
  id: 'loop',
  context: ({ input }) => ({ rounds: input.rounds, round: 0, ablations: input.ablations, history: [], error: null }),
  initial: 'seeding',
  states: {
    ...(Object.fromEntries(LOOP_STAGES.map((s) => [s, stageState(s)])) as Record<LoopStage, ReturnType<typeof stageState>>),
    done: { type: 'final' },
    failed: { type: 'final' },
  },
});

export type LoopMachine = typeof loopMachine;

/** The stages one round goes through under these switches, in order: the edges above, walked from the round's first stage. */
export function roundStages(a: Ablations): LoopStage[] {
  const context = { ablations: a, round: 1, rounds: 1 };
  const out: LoopStage[] = [];
  for (let s: LoopStage | 'done' = ROUND_STAGES[0]!; s !== 'done' && !(out.length && s === ROUND_STAGES[0]); ) {
    out.push(s);
    s = AFTER[s].find((e) => !e.guard || guards[e.guard]({ context }))!.target;
  }
  return out;
}
