import { createActor } from 'xstate';
import { brainFor, type RunConfig } from '../protocols/config.ts';
import { dialogueTrace, type DialogueRecord } from '../protocols/dialogue.ts';
import { LooptoolError } from '../protocols/errors.ts';
import type { JsonValue } from '../protocols/json.ts';
import type { ChatMessage } from '../protocols/messages.ts';
import type { Plan } from '../protocols/plan.ts';
import type { ToolSpec } from '../protocols/toolspec.ts';
import { catalogue } from '../agents/registry.ts';
import { dialogueMachine, type DialogueInput, type DialogueOutput } from '../machines/dialogue.ts';
import type { LooptoolNode } from './bus/node.ts';

/** A state value as one string: "assistantTurn.sampling". */
export function stateString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') return Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}.${stateString(v)}`).join(',');
  return String(value);
}

/** The dialogue roles running a sim brain: the dialogue machine may consult them for the hidden truth. */
export function simRolesOf(config: RunConfig): Set<string> {
  return new Set(catalogue.filter((e) => e.phase === 'seed' && e.brains.includes('sim') && brainFor(config, e.name) === 'sim').map((e) => e.name));
}

export type DialogueEvents = {
  /** a message joined the dialogue */
  message?(m: ChatMessage, index: number): void;
  /** the machine moved (state path like "assistantTurn.sampling") */
  state?(to: string, from: string | undefined, info: { samples: number; badTurns: DialogueRecord['badTurns']; plan?: Plan; tools: ToolSpec[] }): void;
};

export type DriveOptions = {
  node: LooptoolNode;
  /** trace states and messages on the bus */
  trace: boolean;
  events?: DialogueEvents;
  signal?: AbortSignal;
  /** the error an abort rejects with */
  abortMessage: string;
};

/** Runs one dialogue machine to its end, tracing (and reporting) its messages and states as they happen. */
export function driveDialogue(input: DialogueInput, opts: DriveOptions): Promise<DialogueOutput> {
  const { node, events } = opts;
  const id = input.id;
  const actor = createActor(dialogueMachine, { input });
  let last = '';
  let sent = 0;
  if (opts.trace || events) {
    actor.subscribe({
      next: (snap) => {
        // Messages first: a state reached in the same step (validating, say) comes after them.
        const msgs = snap.context.messages;
        for (; sent < msgs.length; sent++) {
          if (opts.trace) node.publish(dialogueTrace(id, 'message', { index: sent, message: msgs[sent] as unknown as JsonValue }));
          events?.message?.(msgs[sent]!, sent);
        }
        const state = stateString(snap.value);
        if (state !== last) {
          if (opts.trace) node.publish(dialogueTrace(id, 'state', { from: last || null, to: state }));
          events?.state?.(state, last || undefined, { samples: snap.context.samples.length, badTurns: snap.context.badTurns, plan: snap.context.plan, tools: snap.context.tools });
          last = state;
        }
      },
      error: () => undefined,
    });
  }
  return new Promise<DialogueOutput>((resolve, reject) => {
    const onAbort = () => {
      actor.stop();
      reject(new Error(opts.abortMessage));
    };
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    actor.subscribe({
      complete: () => {
        opts.signal?.removeEventListener('abort', onAbort);
        const snap = actor.getSnapshot();
        // not attempted: an error, so that no caller keeps it as a finished dialogue
        if (snap.status === 'done' && snap.output!.unavailable)
          reject(new LooptoolError({ code: 'unavailable', message: `dialogue ${id} not attempted: ${snap.output!.unavailable}` }));
        else if (snap.status === 'done') resolve(snap.output!);
        else reject(new Error(`dialogue ${id} stopped in state ${stateString(snap.value)}`));
      },
      error: (err) => {
        opts.signal?.removeEventListener('abort', onAbort);
        reject(err);
      },
    });
    actor.start();
  });
}
