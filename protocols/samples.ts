import { createHash } from 'node:crypto';
import type { ChatMessage } from './messages.ts';
import { Sample, type Label, type SampleKind } from './sample.ts';
import { toOpenAITool, type OpenAITool, type ToolSpec } from './toolspec.ts';
import type { TurnRecord } from './dialogue.ts';
import { formatOpenAIToolCalls, type OpenAIToolCallOut } from './toolcalls/index.ts';

/**
 * Training samples from an accepted dialogue (DESIGN.md §1 round 0 step 5), pure:
 * every assistant turn that calls tools, none of whose results is an error, and
 * every "no call" turn (clarify, irrelevant) becomes a sample of tools + context
 * (the last `contextUserTurns` user messages at most) + label.
 */

/** A content-derived id: the same dialogue turn always gets the same id, so re-runs deduplicate. */
export function sampleId(dialogue: string, turn: number, source = 'seed'): string {
  return `${source}-${createHash('sha256').update(`${dialogue}#${turn}`).digest('hex').slice(0, 16)}`;
}

/**
 * The messages before `index`, starting at most `maxUserTurns` user messages back;
 * leading system messages are always kept (they frame the whole dialogue).
 */
export function contextBefore(messages: readonly ChatMessage[], index: number, maxUserTurns: number): ChatMessage[] {
  const before = messages.slice(0, index);
  const system = before.filter((m, i) => m.role === 'system' && before.slice(0, i).every((p) => p.role === 'system'));
  let start = system.length;
  let users = 0;
  for (let i = before.length - 1; i >= system.length; i--) {
    if (before[i]!.role === 'user' && ++users === maxUserTurns) {
      start = i;
      break;
    }
  }
  return [...system, ...before.slice(start)];
}

export type DialogueForSamples = {
  id: string;
  tools: ToolSpec[];
  messages: ChatMessage[];
  turns: TurnRecord[];
};

export type SampleOptions = {
  contextUserTurns?: number;
  round?: number;
  source?: 'seed' | 'expansion' | 'corrected' | 'import';
};

const NO_CALL_KINDS: ReadonlySet<SampleKind> = new Set(['clarify', 'irrelevant']);

/** The samples one accepted dialogue yields, in message order. */
export function dialogueSamples(d: DialogueForSamples, opts: SampleOptions = {}): Sample[] {
  const out: Sample[] = [];
  const maxUsers = opts.contextUserTurns ?? 8;
  const source = opts.source ?? 'seed';
  for (const t of d.turns) {
    const m = d.messages[t.message];
    if (!m || m.role !== 'assistant' || !t.kind) continue;
    let label: Label;
    if (m.tool_calls.length) {
      if (t.toolErrors.some(Boolean) || t.toolErrors.length !== m.tool_calls.length) continue;
      label = { type: 'calls', calls: m.tool_calls.map((c) => ({ ...c })) };
    } else {
      // A text turn teaches something only where the plan says no call is right.
      if (!NO_CALL_KINDS.has(t.kind)) continue;
      label = { type: 'text', text: m.content };
    }
    const context = contextBefore(d.messages, t.message, maxUsers);
    if (context.length === 0) continue;
    out.push(
      Sample.parse({
        id: sampleId(d.id, t.message, source),
        kind: t.kind,
        tools: d.tools,
        context,
        label,
        provenance: { source, round: opts.round ?? 0, dialogue: d.id, turn: t.message },
        masked: t.masked,
        skills: t.skills ?? [],
        ...(t.difficulty ? { difficulty: t.difficulty } : {}),
        ...(t.truth ? { truth: t.truth } : {}),
      }),
    );
  }
  return out;
}

/** OpenAI fine-tuning chat format, one line per sample. */
export type OpenAIFineTuneMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: OpenAIToolCallOut[]; weight?: 0 | 1 }
  | { role: 'tool'; tool_call_id: string; content: string };
export type OpenAIFineTuneLine = { messages: OpenAIFineTuneMessage[]; tools: OpenAITool[] };

/**
 * A sample as an OpenAI fine-tuning line (`messages` + `tools`): the context, then the
 * label as the last assistant message. Only the label is trained (`weight: 1`);
 * assistant messages of the context get `weight: 0`. Calls without ids get stable ids
 * (`call_<message>_<index>`) and tool messages are linked to them in order.
 */
export function sampleToOpenAI(s: Pick<Sample, 'tools' | 'context' | 'label'>): OpenAIFineTuneLine {
  const messages: OpenAIFineTuneMessage[] = [];
  let pending: string[] = [];
  s.context.forEach((m, i) => {
    switch (m.role) {
      case 'system':
      case 'user':
        messages.push({ role: m.role, content: m.content });
        break;
      case 'assistant': {
        const calls = formatOpenAIToolCalls(m.tool_calls.map((c, k) => ({ ...c, id: c.id ?? `call_${i}_${k}` })));
        pending = calls.map((c) => c.id);
        messages.push(calls.length ? { role: 'assistant', content: m.content || null, tool_calls: calls, weight: 0 } : { role: 'assistant', content: m.content, weight: 0 });
        break;
      }
      case 'tool':
        messages.push({ role: 'tool', tool_call_id: m.tool_call_id ?? pending.shift() ?? `call_${i}`, content: m.content });
        if (m.tool_call_id) pending = pending.filter((p) => p !== m.tool_call_id);
        break;
    }
  });
  const n = s.context.length;
  if (s.label.type === 'calls')
    messages.push({ role: 'assistant', content: null, tool_calls: formatOpenAIToolCalls(s.label.calls.map((c, k) => ({ ...c, id: c.id ?? `call_${n}_${k}` }))), weight: 1 });
  else messages.push({ role: 'assistant', content: s.label.text, weight: 1 });
  return { messages, tools: s.tools.map(toOpenAITool) };
}
