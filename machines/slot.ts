import { createActor, fromTransition, toPromise, type AnyActorLogic } from 'xstate';

/**
 * One mailbox slot of a role host: idle → working → idle. The host only sends WORK to
 * a slot whose snapshot is `idle`, so XState never receives an event it would
 * silently drop; everything else waits in the host's mailbox.
 *
 * The verb itself runs outside the slot (`runJob`) and reports back with DONE or
 * FAILED: invoking a promise actor per request costs ~100 µs in XState, and this is
 * the hot path of every request on the bus.
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

export type SlotEvent = { type: 'WORK' } | { type: 'DONE' } | { type: 'FAILED' };
export type SlotState = 'idle' | 'working';

/**
 * The slot's two-state diagram as a transition function:
 *
 *   idle --WORK--> working --DONE|FAILED--> idle
 *
 * Any other event leaves the state as it is (the host never sends one). It runs as
 * an XState transition actor rather than a `createMachine` machine because it takes
 * two transitions per request on the bus's hot path, and a machine's microstep costs
 * ~10x more for the same two-state diagram.
 */
export function slotTransition(state: SlotState, event: SlotEvent): SlotState {
  if (state === 'idle') return event.type === 'WORK' ? 'working' : state;
  return event.type === 'DONE' || event.type === 'FAILED' ? 'idle' : state;
}

export const slotLogic = fromTransition(slotTransition, 'idle' as SlotState);
