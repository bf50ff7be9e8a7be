import type { RunConfig } from '../protocols/config.ts';
import type { ChatMessage } from '../protocols/messages.ts';
import type { Plan } from '../protocols/plan.ts';
import { defineRole, type CallFn, type RoleContract } from '../protocols/role.ts';
import { UserContract } from '../protocols/roles/user.ts';
import type { ToolSpec } from '../protocols/toolspec.ts';
import { simTurn } from '../agents/user/index.ts';
import type { DialogueOutput } from '../machines/dialogue.ts';
import { driveDialogue, simRolesOf, type DialogueEvents } from './dialogue-run.ts';
import type { LooptoolNode } from './bus/node.ts';

/**
 * One interactive dialogue (`looptool sim`): the round-0 dialogue machine, driven over
 * the bus like `looptool seed` drives it, with three things a person needs:
 * every message reported as it joins the dialogue, an optional gate before each
 * speaker (`--step`), and a user role that a person plays (`--as user`).
 * Everything is traced like a seed dialogue, so `looptool view` can watch it.
 */

/** Roles whose call produces a dialogue message: `--step` waits before them. */
export const SPEAKERS = new Set(['user', 'assistant', 'tool']);

export type HumanTurn = {
  plan: Plan;
  messages: ChatMessage[];
  tools: ToolSpec[];
  /** what the simulated user would say now (the plan's next request), for the person to send or rewrite */
  suggestion: { content: string; done: boolean };
};

export type SimEvents = DialogueEvents;

export type SimOptions = {
  node: LooptoolNode;
  config: RunConfig;
  /** dialogue id (also its trace id) */
  id: string;
  /** root seed of the dialogue's calls */
  seed: string;
  tools: ToolSpec[];
  events?: SimEvents;
  /** awaited before each speaker's call (`--step`) */
  gate?: (role: string) => Promise<void>;
  signal?: AbortSignal;
  /** trace states and messages (default true) */
  trace?: boolean;
};


/**
 * A call function that waits at `gate` once before each message a speaker adds. Every
 * call made for that message shares the one wait: the samples of one assistant turn
 * (self-consistency asks for a third when two disagree, after the first two returned),
 * a redrawn bad turn, the calls of one tool round. `messages()` counts the dialogue's
 * messages so far: a new message opens the next wait.
 */
export function gatedCall(call: CallFn, gate: (role: string) => Promise<void>, messages: () => number): CallFn {
  let open: { key: string; wait: Promise<void> } | undefined;
  return (async (contract: RoleContract, verb: string, input: unknown, opts?: unknown) => {
    const role = contract.name;
    if (SPEAKERS.has(role)) {
      // setImmediate first: the message that led here is counted and printed before the
      // prompt (snapshot observers run after the transition that started this call).
      await new Promise<void>((r) => setImmediate(r));
      const key = `${role}@${messages()}`;
      if (!open || open.key !== key) open = { key, wait: gate(role) };
      await open.wait;
    }
    return (call as (...a: unknown[]) => Promise<unknown>)(contract, verb, input, opts);
  }) as CallFn;
}

/**
 * A user role played by a person: `ask` shows the dialogue and the simulated user's
 * suggestion and returns what the person typed. Served under the user role's name,
 * on the session's own bus, in place of the simulated user.
 */
export function humanUserRole(config: RunConfig, ask: (turn: HumanTurn) => Promise<{ content: string; done: boolean }>) {
  return defineRole({
    contract: UserContract,
    concurrency: 1,
    verbs: {
      turn: {
        async handle(input) {
          const suggestion = simTurn(input, config.sim);
          return ask({ plan: input.plan, messages: input.messages, tools: input.tools, suggestion });
        },
      },
    },
  });
}

/** Runs the dialogue to its end and returns its record and samples. */
export async function runSimDialogue(opts: SimOptions): Promise<DialogueOutput> {
  const { node, config, id } = opts;
  let count = 0;
  const call = opts.gate ? gatedCall(node.call, opts.gate, () => count) : node.call;
  const events: SimEvents = {
    ...opts.events,
    message: (m, index) => {
      count = index + 1;
      opts.events?.message?.(m, index);
    },
  };
  const input = { id, index: 0, seed: opts.seed, cfg: config.seeding, simRoles: simRolesOf(config), call, tools: opts.tools };
  return driveDialogue(input, { node, trace: opts.trace ?? true, events, signal: opts.signal, abortMessage: 'interrupted' });
}

/** A fresh dialogue seed for an interactive session (printed, so a session can be replayed with --seed). */
export function sessionSeed(): string {
  return `sim-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}
