import { assign, createActor, setup, toPromise, type AnyActorLogic } from 'xstate';

/**
 * One mailbox slot of a role host: idle → working → idle. The host only sends WORK to
 * a slot whose snapshot is `idle`, so XState never receives an event it would
 * silently drop; everything else waits in the host's mailbox.
 *
 * The verb itself runs outside the machine (`runJob`) and reports back with DONE or
 * FAILED: invoking a promise actor per request costs ~100 µs in XState, a plain
 * transition ~10 µs, and this is the hot path of every request on the bus.
 */
export type SlotJob = {
  id: string;
  verb: string;
  input: unknown;
  /** Runs the verb: a promise-returning handler or any actor logic. */
  run: { kind: 'handle'; fn: (input: unknown) => Promise<unknown> } | { kind: 'logic'; logic: AnyActorLogic; input: unknown };
};

export async function runJob(job: SlotJob): Promise<unknown> {
  if (job.run.kind === 'handle') return job.run.fn(job.input);
  const child = createActor(job.run.logic, { input: job.run.input });
  child.start();
  return toPromise(child);
}

export type SlotEvent = { type: 'WORK'; job: SlotJob } | { type: 'DONE' } | { type: 'FAILED' };

export const slotMachine = setup({
  types: {
    context: {} as { job: SlotJob | null; done: number; failed: number },
    events: {} as SlotEvent,
  },
  actions: {
    takeJob: assign({ job: ({ event }) => (event.type === 'WORK' ? event.job : null) }),
    countDone: assign({ job: null, done: ({ context }) => context.done + 1 }),
    countFailed: assign({ job: null, failed: ({ context }) => context.failed + 1 }),
  },
}).createMachine({
  id: 'slot',
  context: { job: null, done: 0, failed: 0 },
  initial: 'idle',
  states: {
    idle: { on: { WORK: { target: 'working', actions: 'takeJob' } } },
    working: {
      on: {
        DONE: { target: 'idle', actions: 'countDone' },
        FAILED: { target: 'idle', actions: 'countFailed' },
      },
    },
  },
});
