import type { DialogueRecord } from '../../protocols/dialogue.ts';
import type { ChatMessage } from '../../protocols/messages.ts';
import type { Plan } from '../../protocols/plan.ts';
import type { Sample } from '../../protocols/sample.ts';
import type { ToolCall } from '../../protocols/toolcall.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import { bold, colorFor, dim, paint } from '../terminal.ts';

/** Fixed colours for the dialogue's speakers (the rest hash to the trace palette). */
const ROLE_COLORS: Record<string, number> = { user: 34, assistant: 32, tool: 33, system: 90, planner: 35 };
export const roleColor = (role: string) => ROLE_COLORS[role] ?? colorFor(role);

const WIDTH = 10;

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function formatCall(c: ToolCall): string {
  const args = Object.entries(c.arguments)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
  return `${c.name}(${args})`;
}

/** One dialogue message as terminal lines: the speaker in its colour, a bar, the text. */
export function formatMessage(m: ChatMessage, opts: { full?: boolean } = {}): string {
  const who = paint(m.role.padEnd(WIDTH), roleColor(m.role));
  const bar = paint('│', roleColor(m.role));
  const lines: string[] = [];
  if (m.role === 'assistant') {
    if (m.content) lines.push(m.content);
    for (const c of m.tool_calls) lines.push(`${paint('→', 32)} ${formatCall(c)}`);
    if (!lines.length) lines.push(dim('(empty)'));
  } else if (m.role === 'tool') {
    lines.push(`${m.name} ${paint('←', 33)} ${opts.full ? m.content : clip(m.content, 400)}`);
  } else {
    lines.push(m.content || dim('(empty)'));
  }
  return lines
    .flatMap((l) => l.split('\n'))
    .map((l, i) => `${i === 0 ? who : ' '.repeat(WIDTH)} ${bar} ${l}`)
    .join('\n');
}

export function formatTools(tools: ToolSpec[]): string {
  const rows = tools.map((t) => {
    const req = new Set(t.parameters.required);
    const params = Object.keys(t.parameters.properties)
      .map((p) => (req.has(p) ? p : `${p}?`))
      .join(', ');
    return `  ${bold(t.name)}(${params}) ${dim(`— ${clip(t.description, 90)}`)}`;
  });
  return [`tools (${tools.length}):`, ...rows].join('\n');
}

export function formatPlan(plan: Plan): string {
  const steps = plan.steps.map((s, i) => `  ${i + 1}. ${paint(s.kind.padEnd(11), 35)} ${s.intent}${s.withheld.length ? dim(` (withholds ${s.withheld.join(', ')})`) : ''}`);
  return [`plan: ${plan.goal}`, ...steps].join('\n');
}

/** What the dialogue came to: verdict, why, and the samples it made. */
export function formatOutcome(rec: DialogueRecord, samples: Sample[]): string {
  const lines: string[] = [];
  const ok = rec.status === 'accepted';
  lines.push(`${ok ? paint('accepted', 32) : paint('rejected', 31)}${rec.reason ? ` (${rec.reason})` : ''}${rec.detail ? dim(` ${clip(rec.detail, 300)}`) : ''}`);
  if (rec.votes.length) lines.push(`judge: ${rec.votes.map((v) => (v.verdict === 'CORRECT' ? paint(v.verdict, 32) : paint(v.verdict, 31))).join(' ')}`);
  if (rec.badTurns.length) lines.push(`bad turns drawn again: ${rec.badTurns.map((b) => `${b.role}@${b.at}`).join(', ')}`);
  const kinds = new Map<string, number>();
  for (const s of samples) kinds.set(s.kind, (kinds.get(s.kind) ?? 0) + 1);
  const masked = samples.filter((s) => s.masked).length;
  lines.push(`samples: ${samples.length}${kinds.size ? ` (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}${masked ? `, ${masked} masked` : ''}`);
  return lines.join('\n');
}
