import { assign, createActor, fromPromise, setup, toPromise, type AnyActorLogic } from 'xstate';

/**
 * One mailbox slot of a role host: idle ⇄ working. The host only sends WORK to a slot
 * whose snapshot is `idle`, so XState never sees an event it would silently drop;
 * everything else waits in the host's mailbox.
 */
export type SlotJob = {
  id: string;
  verb: string;
  input: unknown;
  /** Runs the verb: a promise-returning handler or any actor logic. */
  run: { kind: 'handle'; fn: (input: unknown) => Promise<unknown> } | { kind: 'logic'; logic: AnyActorLogic; input: unknown };
};

export type SlotOutcome = { job: SlotJob; ok: true; output: unknown } | { job: SlotJob; ok: false; error: unknown };

type SlotContext = { job: SlotJob | null; settle: (o: SlotOutcome) => void };

async function runJob(job: SlotJob): Promise<unknown> {
  if (job.run.kind === 'handle') return job.run.fn(job.input);
  const child = createActor(job.run.logic, { input: job.run.input });
  child.start();
  return toPromise(child);
}

export const slotMachine = setup({
  types: {
    context: {} as SlotContext,
    input: {} as { settle: (o: SlotOutcome) => void },
    events: {} as { type: 'WORK'; job: SlotJob },
  },
  actors: {
    verb: fromPromise<unknown, SlotJob>(({ input }) => runJob(input)),
  },
  actions: {
    takeJob: assign({ job: ({ event }) => event.job }),
    reportDone: ({ context, event }) => context.settle({ job: context.job!, ok: true, output: (event as unknown as { output: unknown }).output }),
    reportFailed: ({ context, event }) => context.settle({ job: context.job!, ok: false, error: (event as unknown as { error: unknown }).error }),
    clearJob: assign({ job: null }),
  },
}).createMachine({
  id: 'slot',
  context: ({ input }) => ({ job: null, settle: input.settle }),
  initial: 'idle',
  states: {
    idle: { on: { WORK: { target: 'working', actions: 'takeJob' } } },
    working: {
      invoke: {
        src: 'verb',
        input: ({ context }) => context.job!,
        onDone: { target: 'idle', actions: ['reportDone', 'clearJob'] },
        onError: { target: 'idle', actions: ['reportFailed', 'clearJob'] },
      },
    },
  },
});
