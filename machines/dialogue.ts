import { assign, fromPromise, setup } from 'xstate';
import type { ChatMessage } from '../protocols/messages.ts';
import { publicPlan, type Plan } from '../protocols/plan.ts';
import type { CallFn } from '../protocols/role.ts';
import type { Sample } from '../protocols/sample.ts';
import type { SeedingConfig } from '../protocols/seeding.ts';
import type { ToolCall } from '../protocols/toolcall.ts';
import type { ToolSpec } from '../protocols/toolspec.ts';
import { ApiDesignerContract } from '../protocols/roles/api-designer.ts';
import { AssistantContract, type RespondOutput } from '../protocols/roles/assistant.ts';
import { JudgeContract } from '../protocols/roles/judge.ts';
import { PlannerContract } from '../protocols/roles/planner.ts';
import { ToolContract } from '../protocols/roles/tool.ts';
import { UserContract } from '../protocols/roles/user.ts';
import { ValidatorContract } from '../protocols/roles/validator.ts';
import { reviewerContract } from '../protocols/roles/reviewer.ts';
import { deriveRngSeed } from '../protocols/rng.ts';
import type { BadTurn, DialogueRecord, JudgeVote, RejectReason, StopReason, TurnRecord } from '../protocols/dialogue.ts';
import { dialogueSamples } from '../protocols/samples.ts';
import { checkAssistantTurn, majority, type RuleFailure } from '../protocols/validate.ts';
import { checkToolSet, errorsOnly } from '../protocols/toolspec-rules.ts';
import { sameCalls } from '../protocols/toolcalls/index.ts';
import { isInfrastructureError } from '../protocols/errors.ts';
import { expectedReply, toolIndex, userScript, type Expected } from '../protocols/truth/reply.ts';
import { turnSkills } from '../protocols/truth/skills.ts';

/** The skills a sample turn exercises, read from the plan and what the user said (the sample builder copies them). */
function skillTags(plan: Plan, messages: ChatMessage[], exp: Expected, tools: ToolSpec[]): Pick<TurnRecord, 'skills' | 'difficulty'> {
  const t = turnSkills(plan, messages, exp, toolIndex(tools));
  return t ? { skills: t.skills, ...(t.difficulty ? { difficulty: t.difficulty } : {}) } : {};
}

/**
 * One round-0 dialogue (DESIGN.md §1 round 0 steps 2-5) as a state machine:
 *
 *   designing → checkingTools → planning → userTurn ⇄ assistantTurn ⇄ toolTurn
 *                                              ↓ (plan done)
 *                                          validating.rules → validating.judging → accepted | rejected
 *
 * A step whose endpoint is down, or whose role nobody serves, ends the dialogue in
 * `unavailable`: no bad turn, no record; it was not attempted (an outage is not data).
 *
 * The last message decides who speaks next: empty → planner, user or tool → assistant,
 * assistant with calls → tool, assistant text → user. Assistant turns are sampled
 * for self-consistency (assistantTurn.sampling ⇄ deciding); with `seeding.reviewers`
 * the chosen turn then goes through assistantTurn.reviewing (protocols/roles/reviewer.ts)
 * before it joins the dialogue. Every role is reached over the bus from invoked actors; the machine itself only decides.
 *
 * Seeds: every call's seed derives from the dialogue seed (run seed + dialogue id),
 * the position in the dialogue, the sample index, and the number of bad turns so far,
 * so the dialogue is the same whatever the concurrency or the replica serving it.
 *
 * Simulator truth (the plan's planted mistakes, the assistant's `truth`) stays in
 * this context and in sample `truth`; it is passed in `hidden` fields only to roles
 * that run a sim brain (`hiddenFor`), never to an llm brain.
 */

export type DialogueInput = {
  id: string;
  index: number;
  /** root of every seed of this dialogue: deriveRngSeed(runSeed, id) */
  seed: string;
  cfg: SeedingConfig;
  /** a tool set to use instead of asking the API designer */
  tools?: ToolSpec[];
  /** tools per designed set (default: the designer's own) */
  toolCount?: number;
  /** roles whose brain may read simulator truth (`hidden` fields) */
  simRoles: ReadonlySet<string>;
  call: CallFn;
};

export type Sampled = RespondOutput;

export type DialogueContext = {
  id: string;
  index: number;
  seed: string;
  cfg: SeedingConfig;
  simRoles: ReadonlySet<string>;
  call: CallFn;
  toolCount?: number;
  tools: ToolSpec[];
  plan: Plan | undefined;
  messages: ChatMessage[];
  turns: TurnRecord[];
  /** samples of the assistant turn being decided */
  samples: Sampled[];
  chosen: { sample: Sampled; agreed: boolean; masked: boolean; reviewed?: boolean } | undefined;
  badTurns: BadTurn[];
  failures: RuleFailure[];
  votes: JudgeVote[];
  stop: StopReason | undefined;
  reason: RejectReason | undefined;
  detail: string | undefined;
  samplesOut: Sample[];
  status: 'accepted' | 'rejected' | undefined;
  /** why the dialogue could not be attempted (an endpoint or role was down); then it has no record to keep */
  unavailable: string | undefined;
};

/**
 * A finished dialogue: accepted or rejected, with its record. `unavailable` says it was
 * not attempted (infrastructure failed, not the model): nothing of it is data, and the
 * next run of the same command runs it again.
 */
export type DialogueOutput = { record: DialogueRecord; samples: Sample[]; unavailable?: string };

/** What the reviewers made of a chosen assistant turn. */
export type ReviewResult = { rejected: boolean; sample: Sampled; note: string };

// ------------------------------------------------------------ pure helpers

/** Two assistant samples agree: identical calls as a multiset, or both plain text. */
export function samplesAgree(a: Pick<Sampled, 'tool_calls'>, b: Pick<Sampled, 'tool_calls'>): boolean {
  if (a.tool_calls.length === 0 || b.tool_calls.length === 0) return a.tool_calls.length === b.tool_calls.length;
  return sameCalls(a.tool_calls, b.tool_calls);
}

/** Index of the first sample of the first agreeing pair, or -1. */
export function firstAgreeing(samples: readonly Pick<Sampled, 'tool_calls'>[]): number {
  for (let j = 1; j < samples.length; j++) for (let i = 0; i < j; i++) if (samplesAgree(samples[i]!, samples[j]!)) return i;
  return -1;
}

/** The output of a done event (its type is known from the invoke that produced it). */
const outputOf = <T>(event: unknown): T => (event as { output: T }).output;

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 500);

/** Calls missing an id get a stable one, so tool messages can point at them. */
function withIds(calls: ToolCall[], at: number): ToolCall[] {
  return calls.map((c, k) => (c.id ? c : { ...c, id: `call_${at}_${k}` }));
}

/** Seed of a call at position `at` of the dialogue; retries after bad turns get fresh seeds. */
function seedFor(c: DialogueContext, role: string, ...parts: (string | number)[]): string {
  const retry = c.badTurns.length ? ['retry', c.badTurns.length] : [];
  return deriveRngSeed(c.seed, role, c.messages.length, ...parts, ...retry);
}

function hiddenFor(c: DialogueContext, role: string): { hidden: { plan: Plan } } | Record<string, never> {
  return c.plan && c.simRoles.has(role) ? { hidden: { plan: c.plan } } : {};
}

/** User messages so far. */
const userCount = (m: readonly ChatMessage[]) => m.reduce((n, x) => n + (x.role === 'user' ? 1 : 0), 0);

/** Assistant messages since the last user message (tool rounds answering one request). */
function stepsSinceUser(m: readonly ChatMessage[]): number {
  let n = 0;
  for (let i = m.length - 1; i >= 0 && m[i]!.role !== 'user'; i--) if (m[i]!.role === 'assistant') n++;
  return n;
}

export function buildRecord(c: DialogueContext, status: 'accepted' | 'rejected'): DialogueRecord {
  return {
    id: c.id,
    index: c.index,
    status,
    ...(status === 'rejected' && c.reason ? { reason: c.reason } : {}),
    ...(status === 'rejected' && c.detail ? { detail: c.detail } : {}),
    stop: c.stop ?? 'done',
    tools: c.tools,
    ...(c.plan ? { plan: c.plan } : {}),
    messages: c.messages,
    turns: c.turns,
    failures: c.failures,
    votes: c.votes,
    badTurns: c.badTurns,
    samples: status === 'accepted' ? c.samplesOut.length : 0,
  };
}

// ------------------------------------------------------------ the machine

type Ctx = { context: DialogueContext };

export const dialogueMachine = setup({
  types: {
    context: {} as DialogueContext,
    input: {} as DialogueInput,
    output: {} as DialogueOutput,
  },
  actors: {
    designTools: fromPromise(async ({ input: c }: { input: DialogueContext }) => {
      const out = await c.call(ApiDesignerContract, 'design', { seed: deriveRngSeed(c.seed, 'tools', ...(c.badTurns.length ? ['retry', c.badTurns.length] : [])), ...(c.toolCount ? { count: c.toolCount } : {}) }, { timeoutMs: c.cfg.callTimeoutMs });
      return out.tools;
    }),
    plan: fromPromise(async ({ input: c }: { input: DialogueContext }) =>
      c.call(PlannerContract, 'plan', { seed: seedFor(c, 'planner'), tools: c.tools, ...(c.cfg.targetTurns ? { targetTurns: c.cfg.targetTurns } : {}), ...(c.cfg.skillMix ? { skillMix: c.cfg.skillMix } : {}) }, { timeoutMs: c.cfg.callTimeoutMs }),
    ),
    userTurn: fromPromise(async ({ input: c }: { input: DialogueContext }) =>
      // An llm user is shown the plan without its simulator-only part, whatever its brain does with it.
      c.call(UserContract, 'turn', { seed: seedFor(c, 'user'), tools: c.tools, messages: c.messages, plan: c.simRoles.has('user') ? c.plan! : publicPlan(c.plan!) }, { timeoutMs: c.cfg.callTimeoutMs }),
    ),
    /** Draws the next assistant samples (two at first, then one at a time), all at once. */
    sampleAssistant: fromPromise(async ({ input: c }: { input: DialogueContext }) => {
      const have = c.samples.length;
      const want = !c.cfg.selfConsistency.enabled ? 1 : have === 0 ? c.cfg.selfConsistency.samples : 1;
      return Promise.all(
        Array.from({ length: want }, (_, k) =>
          c.call(AssistantContract, 'respond', { seed: seedFor(c, 'assistant', 'sample', have + k), tools: c.tools, messages: c.messages, ...hiddenFor(c, 'assistant') }, { timeoutMs: c.cfg.callTimeoutMs }),
        ),
      );
    }),
    /** One execute per call of the last assistant message; results come back in call order. */
    executeCalls: fromPromise(async ({ input: c }: { input: DialogueContext }) => {
      const last = c.messages[c.messages.length - 1];
      if (!last || last.role !== 'assistant') throw new Error('executeCalls: the last message has no calls');
      const byName = new Map(c.tools.map((t) => [t.name, t]));
      return Promise.all(
        last.tool_calls.map((call, k) =>
          c.call(ToolContract, 'execute', { seed: seedFor(c, 'tool', 'call', k), tool: byName.get(call.name)!, call }, { timeoutMs: c.cfg.callTimeoutMs }),
        ),
      );
    }),
    /** Shows the chosen turn to each reviewer in order; a revision is what the next one sees. */
    reviewTurn: fromPromise(async ({ input: c }: { input: DialogueContext }): Promise<ReviewResult> => {
      let sample = c.chosen!.sample;
      const notes: string[] = [];
      for (const name of c.cfg.reviewers) {
        const candidate = { role: 'assistant' as const, content: sample.content, tool_calls: sample.tool_calls };
        const out = await c.call(reviewerContract(name), 'review', { seed: seedFor(c, name), tools: c.tools, messages: c.messages, candidate }, { timeoutMs: c.cfg.callTimeoutMs });
        if (out.verdict === 'reject') return { rejected: true, sample, note: `${name}: ${out.note || 'rejected'}` };
        // The simulator's truth about the turn stays: a revision changes the label, not what was right.
        if (out.verdict === 'revise' && out.revised) sample = { ...out.revised, ...(sample.truth ? { truth: sample.truth } : {}) };
        if (out.note) notes.push(`${name}: ${out.note}`);
      }
      return { rejected: false, sample, note: notes.join('; ') };
    }),
    checkRules: fromPromise(async ({ input: c }: { input: DialogueContext }) =>
      c.call(ValidatorContract, 'check', { tools: c.tools, messages: c.messages, requireToolUse: c.cfg.dropNoToolUse }, { timeoutMs: c.cfg.callTimeoutMs }),
    ),
    judgeVotes: fromPromise(async ({ input: c }: { input: DialogueContext }) =>
      Promise.all(
        Array.from({ length: c.cfg.judge.votes }, (_, k) =>
          c.call(JudgeContract, 'judge_dialogue', { seed: deriveRngSeed(c.seed, 'judge', 'vote', k, ...(c.badTurns.length ? ['retry', c.badTurns.length] : [])), tools: c.tools, messages: c.messages, ...hiddenFor(c, 'judge') }, { timeoutMs: c.cfg.callTimeoutMs }),
        ),
      ),
    ),
  },
  guards: {
    hasTools: ({ context }: Ctx) => context.tools.length > 0,
    toolsBreakRules: ({ context }: Ctx) => errorsOnly(checkToolSet(context.tools)).length > 0,
    badTurnBudgetSpent: ({ context }: Ctx) => context.badTurns.length + 1 >= context.cfg.maxBadTurns,
    planFinished: ({ context }: Ctx) => !!context.plan && userCount(context.messages) >= userScript(context.plan).length,
    userDone: ({ event }) => outputOf<{ done: boolean }>(event).done,
    tooLong: ({ context }: Ctx) => context.messages.length >= context.cfg.maxMessages,
    selfConsistencyOff: ({ context }: Ctx) => !context.cfg.selfConsistency.enabled,
    twoSamplesAgree: ({ context }: Ctx) => firstAgreeing(context.samples) >= 0,
    canSampleMore: ({ context }: Ctx) => context.samples.length < context.cfg.selfConsistency.maxSamples,
    chosenIsBadTurn: ({ context }: Ctx) => badTurnWhy(context) !== undefined,
    chosenIsLastBadTurn: ({ context }: Ctx) => badTurnWhy(context) !== undefined && context.badTurns.length + 1 >= context.cfg.maxBadTurns,
    chosenCalls: ({ context }: Ctx) => context.chosen!.sample.tool_calls.length > 0,
    needsReview: ({ context }: Ctx) => context.cfg.reviewers.length > 0 && !context.chosen!.reviewed,
    reviewRejected: ({ event }) => outputOf<ReviewResult>(event).rejected,
    reviewRejectedLast: ({ context, event }) => outputOf<ReviewResult>(event).rejected && context.badTurns.length + 1 >= context.cfg.maxBadTurns,
    rulesFailed: ({ event }) => !outputOf<{ ok: boolean }>(event).ok,
    /** an endpoint that is down or a role nobody serves: not a bad turn, the dialogue is not attempted */
    infrastructureDown: ({ event }) => isInfrastructureError((event as { error?: unknown }).error),
    judgeOff: ({ context }: Ctx) => !context.cfg.judge.enabled || context.cfg.judge.votes === 0,
    majorityCorrect: ({ event }) => majority(outputOf<{ verdict: 'CORRECT' | 'INCORRECT' }[]>(event).map((v) => v.verdict)).accepted,
  },
  actions: {
    setTools: assign({ tools: ({ event }) => outputOf<ToolSpec[]>(event) }),
    setPlan: assign({ plan: ({ event }) => outputOf<Plan>(event) }),
    rejectTools: assign(({ context }) => {
      const errs = errorsOnly(checkToolSet(context.tools));
      return { stop: 'invalid_tools' as const, reason: 'invalid_tool_schema' as const, detail: errs.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join('; ') };
    }),
    /** A step failed (role error, or an assistant turn that breaks the rules): remember why. */
    recordRoleError: assign({
      badTurns: ({ context, event }) => [...context.badTurns, { at: context.messages.length, role: roleOfError(event), reason: errorText((event as { error?: unknown }).error) }],
      samples: () => [],
      chosen: () => undefined,
    }),
    recordBadAssistantTurn: assign({
      badTurns: ({ context }) => [...context.badTurns, { at: context.messages.length, role: 'assistant', reason: badTurnWhy(context) ?? 'bad turn' }],
      samples: () => [],
      chosen: () => undefined,
    }),
    recordReviewReject: assign({
      badTurns: ({ context, event }) => [...context.badTurns, { at: context.messages.length, role: 'reviewer', reason: outputOf<ReviewResult>(event).note }],
      samples: () => [],
      chosen: () => undefined,
    }),
    applyReview: assign({ chosen: ({ context, event }) => ({ ...context.chosen!, sample: outputOf<ReviewResult>(event).sample, reviewed: true }) }),
    recordUnavailable: assign({ unavailable: ({ event }) => `${roleOfError(event)}: ${errorText((event as { error?: unknown }).error)}` }),
    stopForBadTurns: assign(({ context }) => ({
      stop: 'bad_turns' as const,
      reason: 'too_many_bad_turns' as const,
      detail: `${context.badTurns.length} bad turns: ${context.badTurns.map((b) => `${b.role}@${b.at}: ${b.reason}`).join(' | ').slice(0, 600)}`,
    })),
    stopTooLong: assign(({ context }) => ({ stop: 'max_messages' as const, reason: 'too_long' as const, detail: `reached ${context.cfg.maxMessages} messages before the plan was done` })),
    appendUser: assign({ messages: ({ context, event }) => [...context.messages, { role: 'user' as const, content: outputOf<{ content: string }>(event).content }] }),
    addSamples: assign({ samples: ({ context, event }) => [...context.samples, ...outputOf<Sampled[]>(event)] }),
    chooseOnly: assign({ chosen: ({ context }) => ({ sample: context.samples[0]!, agreed: true, masked: false }) }),
    chooseAgreed: assign({ chosen: ({ context }) => ({ sample: context.samples[firstAgreeing(context.samples)]!, agreed: true, masked: false }) }),
    pickAndMask: assign({ chosen: ({ context }) => ({ sample: context.samples[0]!, agreed: false, masked: true }) }),
    appendAssistant: assign(({ context }) => {
      const { sample, agreed, masked } = context.chosen!;
      const at = context.messages.length;
      const exp = context.plan ? expectedReply(context.plan, context.messages) : undefined;
      const message: ChatMessage = { role: 'assistant', content: sample.content, tool_calls: withIds(sample.tool_calls, at) };
      const turn: TurnRecord = {
        message: at,
        step: exp?.step ?? -1,
        // What the turn teaches is what the plan expects here; turns the plan does not
        // make samples of (summaries) teach nothing.
        ...(exp?.sample ? { kind: exp.kind } : {}),
        ...(exp?.sample && context.plan ? skillTags(context.plan, context.messages, exp, context.tools) : {}),
        samples: context.samples.length,
        agreed,
        masked,
        ...(sample.truth ? { truth: sample.truth } : {}),
        toolErrors: [],
      };
      return { messages: [...context.messages, message], turns: [...context.turns, turn], samples: [], chosen: undefined };
    }),
    appendToolResults: assign(({ context, event }) => {
      const results = outputOf<{ content: string; error: boolean }[]>(event);
      const last = context.messages[context.messages.length - 1] as Extract<ChatMessage, { role: 'assistant' }>;
      const toolMsgs: ChatMessage[] = last.tool_calls.map((call, k) => ({ role: 'tool', tool_call_id: call.id, name: call.name, content: results[k]!.content }));
      const turns = context.turns.slice();
      const t = turns[turns.length - 1]!;
      turns[turns.length - 1] = { ...t, toolErrors: results.map((r) => r.error) };
      return { messages: [...context.messages, ...toolMsgs], turns };
    }),
    setRuleFailures: assign(({ event }) => {
      const out = outputOf<{ failures: RuleFailure[] }>(event);
      const first = out.failures[0];
      return { failures: out.failures, reason: first?.code, detail: first ? `message ${first.at ?? '-'}: ${first.message}` : undefined };
    }),
    setVotes: assign({ votes: ({ event }) => outputOf<JudgeVote[]>(event).map((v) => ({ verdict: v.verdict, analysis: v.analysis, ...(v.turn !== undefined ? { turn: v.turn } : {}) })) }),
    rejectByJudge: assign(({ context }) => {
      const m = majority(context.votes.map((v) => v.verdict));
      const why = context.votes.find((v) => v.verdict === 'INCORRECT');
      return { reason: 'judge_incorrect' as const, detail: `judge: ${m.incorrect} of ${context.votes.length} INCORRECT${why ? `: ${why.analysis.slice(0, 300)}` : ''}` };
    }),
    markAccepted: assign({ status: () => 'accepted' as const }),
    markRejected: assign({ status: () => 'rejected' as const }),
    makeSamples: assign({
      samplesOut: ({ context }) =>
        dialogueSamples({ id: context.id, tools: context.tools, messages: context.messages, turns: context.turns }, { contextUserTurns: context.cfg.contextUserTurns, round: 0, source: 'seed' }),
    }),
  },
}).createMachine({
  id: 'dialogue',
  context: ({ input }) => ({
    id: input.id,
    index: input.index,
    seed: input.seed,
    cfg: input.cfg,
    simRoles: input.simRoles,
    call: input.call,
    toolCount: input.toolCount,
    tools: input.tools ?? [],
    plan: undefined,
    messages: [],
    turns: [],
    samples: [],
    chosen: undefined,
    badTurns: [],
    failures: [],
    votes: [],
    stop: undefined,
    reason: undefined,
    detail: undefined,
    samplesOut: [],
    status: undefined,
    unavailable: undefined,
  }),
  initial: 'designing',
  states: {
    designing: {
      always: { guard: 'hasTools', target: 'checkingTools' },
      invoke: {
        id: 'api-designer',
        src: 'designTools',
        input: ({ context }) => context,
        onDone: { target: 'checkingTools', actions: 'setTools' },
        onError: [
          { guard: 'infrastructureDown', target: '#dialogue.unavailable', actions: 'recordUnavailable' },
          { guard: 'badTurnBudgetSpent', target: 'rejected', actions: ['recordRoleError', 'stopForBadTurns'] },
          { target: 'designing', reenter: true, actions: 'recordRoleError' },
        ],
      },
    },
    checkingTools: {
      always: [{ guard: 'toolsBreakRules', target: 'rejected', actions: 'rejectTools' }, { target: 'planning' }],
    },
    planning: {
      invoke: {
        id: 'planner',
        src: 'plan',
        input: ({ context }) => context,
        onDone: { target: 'userTurn', actions: 'setPlan' },
        onError: [
          { guard: 'infrastructureDown', target: '#dialogue.unavailable', actions: 'recordUnavailable' },
          { guard: 'badTurnBudgetSpent', target: 'rejected', actions: ['recordRoleError', 'stopForBadTurns'] },
          { target: 'planning', reenter: true, actions: 'recordRoleError' },
        ],
      },
    },
    userTurn: {
      always: [
        { guard: 'planFinished', target: 'validating' },
        { guard: 'tooLong', target: 'rejected', actions: 'stopTooLong' },
      ],
      invoke: {
        id: 'user',
        src: 'userTurn',
        input: ({ context }) => context,
        onDone: [{ guard: 'userDone', target: 'validating' }, { target: 'assistantTurn', actions: 'appendUser' }],
        onError: [
          { guard: 'infrastructureDown', target: '#dialogue.unavailable', actions: 'recordUnavailable' },
          { guard: 'badTurnBudgetSpent', target: 'rejected', actions: ['recordRoleError', 'stopForBadTurns'] },
          { target: 'userTurn', reenter: true, actions: 'recordRoleError' },
        ],
      },
    },
    assistantTurn: {
      initial: 'sampling',
      always: { guard: 'tooLong', target: 'rejected', actions: 'stopTooLong' },
      states: {
        sampling: {
          invoke: {
            id: 'assistant',
        src: 'sampleAssistant',
            input: ({ context }) => context,
            onDone: { target: 'deciding', actions: 'addSamples' },
            onError: [
              { guard: 'infrastructureDown', target: '#dialogue.unavailable', actions: 'recordUnavailable' },
              { guard: 'badTurnBudgetSpent', target: '#dialogue.rejected', actions: ['recordRoleError', 'stopForBadTurns'] },
              { target: '#dialogue.assistantTurn', reenter: true, actions: 'recordRoleError' },
            ],
          },
        },
        deciding: {
          always: [
            { guard: 'selfConsistencyOff', target: 'checking', actions: 'chooseOnly' },
            { guard: 'twoSamplesAgree', target: 'checking', actions: 'chooseAgreed' },
            { guard: 'canSampleMore', target: 'sampling' },
            { target: 'checking', actions: 'pickAndMask' },
          ],
        },
        checking: {
          always: [
            { guard: 'chosenIsLastBadTurn', target: '#dialogue.rejected', actions: ['recordBadAssistantTurn', 'stopForBadTurns'] },
            { guard: 'chosenIsBadTurn', target: '#dialogue.assistantTurn', reenter: true, actions: 'recordBadAssistantTurn' },
            { guard: 'needsReview', target: 'reviewing' },
            { guard: 'chosenCalls', target: '#dialogue.toolTurn', actions: 'appendAssistant' },
            { target: '#dialogue.userTurn', actions: 'appendAssistant' },
          ],
        },
        /** seeding.reviewers see the turn before it joins the dialogue; a revision is checked again. */
        reviewing: {
          invoke: {
            id: 'reviewer',
            src: 'reviewTurn',
            input: ({ context }) => context,
            onDone: [
              { guard: 'reviewRejectedLast', target: '#dialogue.rejected', actions: ['recordReviewReject', 'stopForBadTurns'] },
              { guard: 'reviewRejected', target: '#dialogue.assistantTurn', reenter: true, actions: 'recordReviewReject' },
              { target: 'checking', actions: 'applyReview' },
            ],
            onError: [
              { guard: 'infrastructureDown', target: '#dialogue.unavailable', actions: 'recordUnavailable' },
              { guard: 'badTurnBudgetSpent', target: '#dialogue.rejected', actions: ['recordRoleError', 'stopForBadTurns'] },
              { target: '#dialogue.assistantTurn', reenter: true, actions: 'recordRoleError' },
            ],
          },
        },
      },
    },
    toolTurn: {
      always: { guard: 'tooLong', target: 'rejected', actions: 'stopTooLong' },
      invoke: {
        id: 'tool',
        src: 'executeCalls',
        input: ({ context }) => context,
        onDone: { target: 'assistantTurn', actions: 'appendToolResults' },
        onError: [
          { guard: 'infrastructureDown', target: '#dialogue.unavailable', actions: 'recordUnavailable' },
          { guard: 'badTurnBudgetSpent', target: 'rejected', actions: ['recordRoleError', 'stopForBadTurns'] },
          { target: 'toolTurn', reenter: true, actions: 'recordRoleError' },
        ],
      },
    },
    validating: {
      initial: 'rules',
      states: {
        rules: {
          invoke: {
            id: 'validator',
        src: 'checkRules',
            input: ({ context }) => context,
            onDone: [
              { guard: 'rulesFailed', target: '#dialogue.rejected', actions: 'setRuleFailures' },
              { guard: 'judgeOff', target: '#dialogue.accepted' },
              { target: 'judging' },
            ],
            onError: [
              { guard: 'infrastructureDown', target: '#dialogue.unavailable', actions: 'recordUnavailable' },
              { guard: 'badTurnBudgetSpent', target: '#dialogue.rejected', actions: ['recordRoleError', 'stopForBadTurns'] },
              { target: 'rules', reenter: true, actions: 'recordRoleError' },
            ],
          },
        },
        judging: {
          invoke: {
            id: 'judge',
        src: 'judgeVotes',
            input: ({ context }) => context,
            onDone: [
              { guard: 'majorityCorrect', target: '#dialogue.accepted', actions: 'setVotes' },
              { target: '#dialogue.rejected', actions: ['setVotes', 'rejectByJudge'] },
            ],
            onError: [
              { guard: 'infrastructureDown', target: '#dialogue.unavailable', actions: 'recordUnavailable' },
              { guard: 'badTurnBudgetSpent', target: '#dialogue.rejected', actions: ['recordRoleError', 'stopForBadTurns'] },
              { target: 'judging', reenter: true, actions: 'recordRoleError' },
            ],
          },
        },
      },
    },
    accepted: { type: 'final', entry: ['markAccepted', 'makeSamples'] },
    rejected: { type: 'final', entry: 'markRejected' },
    unavailable: { type: 'final' },
  },
  output: ({ context }) => {
    const status = context.status ?? 'rejected';
    return { record: buildRecord(context, status), samples: status === 'accepted' ? context.samplesOut : [], ...(context.unavailable ? { unavailable: context.unavailable } : {}) };
  },
});

/** Why the chosen assistant sample cannot join the dialogue, or undefined when it can. */
function badTurnWhy(c: DialogueContext): string | undefined {
  const s = c.chosen!.sample;
  if (s.tool_calls.length === 0 && s.content.trim() === '') return 'empty assistant message';
  const f = checkAssistantTurn(c.tools, s);
  if (f.length) return `${f[0]!.code}: ${f[0]!.message}`;
  if (s.tool_calls.length > 0 && stepsSinceUser(c.messages) + 1 >= c.cfg.maxStepsPerRequest)
    return `more than ${c.cfg.maxStepsPerRequest - 1} tool rounds for one request`;
  return undefined;
}

const ERROR_PREFIX = 'xstate.error.actor.';

/** The role an invoke error came from: invokes are named after the role they call. */
function roleOfError(event: unknown): string {
  const type = String((event as { type?: string }).type ?? '');
  return type.startsWith(ERROR_PREFIX) ? type.slice(ERROR_PREFIX.length) : 'unknown';
}
