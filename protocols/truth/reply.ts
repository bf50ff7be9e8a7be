/**
 * The truth of a simulated dialogue, read from its plan: where the dialogue is (which
 * request, which round of calls), and what a correct assistant answers now (the truth
 * label). Pure: the dialogue machine asks it which turn becomes a sample and when the
 * plan is done, and every simulator brain reads the dialogue through it, so they all
 * agree on the truth. How the teacher's planted mistakes change that answer is the
 * simulator's business (agents/common/sim/world.ts).
 */
import { z } from 'zod';
import { JsonValue } from '../json.ts';
import type { ChatMessage } from '../messages.ts';
import type { Plan, PlannedCall, PlannedNoise, PlanStep } from '../plan.ts';
import { Label, SampleKind } from '../sample.ts';
import type { ToolMeta } from '../tool-meta.ts';
import { ToolCall } from '../toolcall.ts';
import type { ParamSchema, ToolSpec } from '../toolspec.ts';
import { toolMetaOf } from './infer.ts';

// ---------------------------------------------------------------- JSON paths

/** Value at a dotted path ("results.0.flight_id"); numeric parts index arrays. */
export function getPath(v: JsonValue | undefined, path: string): JsonValue | undefined {
  if (path === '') return v;
  let cur: JsonValue | undefined = v;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(part)] : cur[part];
  }
  return cur;
}

export function setPath(obj: Record<string, JsonValue>, path: string, value: JsonValue): void {
  const parts = path.split('.');
  let cur: Record<string, JsonValue> = obj;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[part] = {};
    cur = cur[part] as Record<string, JsonValue>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** Deletes a dotted path; an object left empty by it is deleted too. */
export function deletePath(obj: Record<string, JsonValue>, path: string): boolean {
  const parts = path.split('.');
  const parent = parts.length > 1 ? getPath(obj, parts.slice(0, -1).join('.')) : obj;
  if (!parent || typeof parent !== 'object' || Array.isArray(parent)) return false;
  const last = parts[parts.length - 1]!;
  if (!(last in parent)) return false;
  delete (parent as Record<string, JsonValue>)[last];
  if (parts.length > 1 && Object.keys(parent).length === 0) deletePath(obj, parts.slice(0, -1).join('.'));
  return true;
}

export function clone<T extends JsonValue | Record<string, JsonValue>>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

// ---------------------------------------------------------------- labels

/** The label an assistant message carries: its calls, or its text when it makes none. */
export function labelOf(m: { content?: string; tool_calls?: ToolCall[] }): Label {
  return m.tool_calls && m.tool_calls.length ? { type: 'calls', calls: m.tool_calls.map((c) => ({ name: c.name, arguments: c.arguments })) } : { type: 'text', text: m.content ?? '' };
}

// ---------------------------------------------------------------- tools

export type ToolInfo = { spec: ToolSpec; meta: ToolMeta };
export type ToolIndex = Map<string, ToolInfo>;

export function toolIndex(tools: ToolSpec[]): ToolIndex {
  return new Map(tools.map((t) => [t.name, { spec: t, meta: toolMetaOf(t) }]));
}

/** Other tools of the same family in the set: the near-duplicates. */
export function siblingsOf(name: string, index: ToolIndex): ToolInfo[] {
  const me = index.get(name);
  if (!me) return [];
  return [...index.values()].filter((t) => t.spec.name !== name && t.meta.family === me.meta.family);
}

/** Schema of the argument at a dotted path. */
export function schemaAt(spec: ToolSpec, path: string): ParamSchema | undefined {
  let props: Record<string, ParamSchema> | undefined = spec.parameters.properties;
  let s: ParamSchema | undefined;
  for (const part of path.split('.')) {
    s = props?.[part];
    if (!s) return undefined;
    props = s.properties;
  }
  return s;
}

// ---------------------------------------------------------------- tool results

export function parseResult(content: string): JsonValue | null {
  try {
    return JSON.parse(content) as JsonValue;
  } catch {
    return null;
  }
}

export function isErrorResult(v: JsonValue | null): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && 'error' in v;
}

/** One assistant message with calls and the tool messages that answered it. */
export const CallGroup = z.object({ calls: z.array(ToolCall), names: z.array(z.string()), results: z.array(JsonValue.nullable()), raw: z.array(z.string()) });
export type CallGroup = z.infer<typeof CallGroup>;

/** The call rounds of the current request: assistant calls and tool answers after message `from`. */
export function groupsSince(messages: ChatMessage[], from: number): CallGroup[] {
  const groups: CallGroup[] = [];
  for (const m of messages.slice(from)) {
    if (m.role === 'assistant' && m.tool_calls.length) groups.push({ calls: m.tool_calls, names: [], results: [], raw: [] });
    else if (m.role === 'tool' && groups.length) {
      const g = groups[groups.length - 1]!;
      g.names.push(m.name);
      g.results.push(parseResult(m.content));
      g.raw.push(m.content);
    }
  }
  return groups;
}

/** The planned call with its references filled from earlier results; undefined if one cannot be. */
export function resolveCall(pc: PlannedCall, groups: CallGroup[]): ToolCall | undefined {
  const args = clone(pc.arguments);
  for (const [argPath, ref] of Object.entries(pc.refs)) {
    const v = getPath(groups[ref.round]?.results[ref.call] ?? undefined, ref.path);
    if (v === undefined || v === null) return undefined;
    setPath(args, argPath, v);
  }
  return { name: pc.name, arguments: args };
}

// ---------------------------------------------------------------- where the dialogue is

export const ScriptEntry = z.object({ step: z.number().int(), phase: z.enum(['request', 'supply']) });
export type ScriptEntry = z.infer<typeof ScriptEntry>;

/** The user's messages, in order: each request, plus a follow-up for withheld values. */
export function userScript(plan: Plan): ScriptEntry[] {
  const out: ScriptEntry[] = [];
  plan.steps.forEach((s, i) => {
    out.push({ step: i, phase: 'request' });
    if (s.withheld.length && s.rounds.length) out.push({ step: i, phase: 'supply' });
  });
  return out;
}

export const TextIntent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('clarify'), tool: z.string(), labels: z.array(z.string()) }),
  z.object({ type: z.literal('refusal') }),
  z.object({ type: z.literal('summary'), groups: z.array(CallGroup) }),
  z.object({ type: z.literal('idle') }),
]);
export type TextIntent = z.infer<typeof TextIntent>;

/** What a correct assistant does now. `round` -1 = a text turn; `sample` = the turn becomes a training sample. */
export const Expected = z.object({
  label: Label,
  kind: SampleKind,
  step: z.number().int(),
  round: z.number().int(),
  sample: z.boolean(),
  text: TextIntent.optional(),
});
export type Expected = z.infer<typeof Expected>;

function textExpected(kind: SampleKind, step: number, round: number, sample: boolean, text: TextIntent): Expected {
  return { label: { type: 'text', text: '' }, kind, step, round, sample, text };
}

/** The correct next assistant answer, from the plan and the messages so far. */
export function expectedReply(plan: Plan, messages: ChatMessage[]): Expected {
  const script = userScript(plan);
  const userAt: number[] = [];
  messages.forEach((m, i) => m.role === 'user' && userAt.push(i));
  const entry = userAt.length ? script[userAt.length - 1] : undefined;
  if (!entry) return textExpected('single', -1, -1, false, { type: 'idle' });
  const step = plan.steps[entry.step]!;
  const groups = groupsSince(messages, userAt[userAt.length - 1]! + 1);
  const summary = () => textExpected(step.kind, entry.step, -1, false, { type: 'summary', groups });
  if (step.kind === 'irrelevant' || step.rounds.length === 0)
    return groups.length ? summary() : textExpected('irrelevant', entry.step, -1, true, { type: 'refusal' });
  if (entry.phase === 'request' && step.withheld.length) {
    if (groups.length) return summary();
    return textExpected('clarify', entry.step, -1, true, { type: 'clarify', tool: step.rounds[0]!.calls[0]!.name, labels: [] });
  }
  const r = groups.length;
  if (groups.some((g) => g.results.some(isErrorResult)) || r >= step.rounds.length) return summary();
  const calls: ToolCall[] = [];
  for (const pc of step.rounds[r]!.calls) {
    const c = resolveCall(pc, groups);
    if (!c) return summary();
    calls.push(c);
  }
  return { label: { type: 'calls', calls }, kind: step.rounds[r]!.kind, step: entry.step, round: r, sample: true };
}

/** The planted mistake for a turn, if any. */
export function plannedNoiseFor(plan: Plan, step: number, round: number): PlannedNoise | undefined {
  return plan.hidden?.noise.find((n) => n.step === step && n.round === round);
}

/** Labels of the withheld values of a step, in words ("departure date"). */
export function withheldLabels(step: PlanStep, index: ToolIndex): string[] {
  return step.withheld.map((w) => {
    const dot = w.indexOf('.');
    const pc = step.rounds[0]?.calls[Number(w.slice(0, dot))];
    const path = w.slice(dot + 1);
    return index.get(pc?.name ?? '')?.meta.params.find((p) => p.path === path)?.label ?? path.replace(/[_.-]/g, ' ');
  });
}
