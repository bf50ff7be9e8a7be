/**
 * The skills a sample really exercises, read back from the plan and the user's actual
 * words, so that a tag never claims what the sample does not contain: a number counts as
 * "number_words" only if the user wrote it in words. Pure: the dialogue machine tags
 * every sample turn with it, whichever brains wrote the dialogue; the simulator's
 * planner (agents/common/sim/skills.ts) plans requests by the same measures.
 */
import type { ChatMessage } from '../messages.ts';
import type { Plan } from '../plan.ts';
import { Skill, type SampleKind } from '../sample.ts';
import type { ParamMeta } from '../tool-meta.ts';
import { nameWords } from '../toolspec-rules.ts';
import { convertingForms, formUsed, identifierLevel, mentions, valueClass, type Level, type ValueClass } from './forms.ts';
import { getPath, schemaAt, siblingsOf, userScript, withheldLabels, type Expected, type ToolIndex, type ToolInfo } from './reply.ts';

/** Skills that live in one argument's wording (its "focus"), and the value classes that carry each. */
export type FocusSkill = 'copy_identifier' | 'number_words' | 'dates_formats' | 'enum_mapping';
export const FOCUS_CLASS: Record<FocusSkill, ValueClass[]> = {
  copy_identifier: ['ident', 'plain'],
  number_words: ['number'],
  dates_formats: ['date'],
  enum_mapping: ['enum'],
};
export const isFocusSkill = (s: Skill): s is FocusSkill => s in FOCUS_CLASS;

/** When a sample was not planned for a skill, the most specific one it shows is its primary. */
const PRIORITY: Skill[] = [
  'multi_step_reference', 'parallel_calls', 'clarify_missing', 'irrelevant_request', 'number_words', 'dates_formats', 'enum_mapping',
  'near_duplicate_tools', 'copy_identifier',
];

/** The value class of a parameter, from its kind and its schema's type. */
export function paramClass(info: ToolInfo, p: ParamMeta): ValueClass {
  const s = schemaAt(info.spec, p.path);
  const item = p.array ? s?.items : s;
  return valueClass(p, item?.type);
}

const stem = (name: string) => new Set(nameWords(name).map((w) => w.replace(/s$/, '')));

/** How hard it is to pick this tool over its look-alikes; undefined when it has none. */
export function nearDupLevel(info: ToolInfo, index: ToolIndex): Level | undefined {
  const sibs = siblingsOf(info.spec.name, index);
  if (!sibs.length) return undefined;
  const me = stem(info.spec.name);
  const close = Math.max(
    ...sibs.map((s) => {
      const other = stem(s.spec.name);
      const common = [...me].filter((w) => other.has(w)).length;
      return common / new Set([...me, ...other]).size;
    }),
  );
  const sameVerb = sibs.some((s) => s.meta.verb === info.meta.verb);
  if (sibs.length >= 2 && (sameVerb || close >= 0.5)) return 3;
  if (sibs.length >= 2 || sameVerb || close >= 0.5) return 2;
  return 1;
}

const lastName = (path: string) => nameWords(path.split('.').pop()!).join('_');

/** 1: a field of the same name from one record; 2: from a list, or renamed. */
export function refLevel(resultPath: string, param: string): Level {
  const listy = /(^|\.)\d+(\.|$)/.test(resultPath);
  return !listy && lastName(resultPath) === lastName(param) ? 1 : 2;
}

// ---------------------------------------------------------------- tags

export type TurnSkills = { skills: Skill[]; difficulty?: Level };

/** What the user said for the request the turn answers (its first message and any answers to questions). */
function requestWords(plan: Plan, messages: readonly ChatMessage[], step: number): string {
  const script = userScript(plan);
  const userAt: number[] = [];
  messages.forEach((m, i) => m.role === 'user' && userAt.push(i));
  const k = script.findIndex((e) => e.step === step && e.phase === 'request');
  const from = userAt[k] ?? 0;
  return messages
    .slice(from)
    .filter((m) => m.role === 'user')
    .map((m) => m.content)
    .join('\n');
}

/**
 * The skills an assistant turn that becomes a sample exercises, primary first, with the
 * primary's level: read from the plan and the user's actual words. The planned skill is
 * primary when the words show it (they do whenever the sim user wrote them); otherwise
 * the most specific skill shown, and failing all, the one the kind stands for.
 */
export function turnSkills(plan: Plan, messages: readonly ChatMessage[], exp: Expected, index: ToolIndex): TurnSkills | undefined {
  if (!exp.sample || exp.step < 0) return undefined;
  const step = plan.steps[exp.step];
  if (!step) return undefined;
  const text = requestWords(plan, messages, exp.step);
  const found = new Map<Skill, Level | undefined>();
  // the level of the argument the request was planned around is the level it was generated at
  const focusLevel = new Map<Skill, Level>();
  const note = (s: Skill, l?: Level, focus = false) => {
    if (focus && l !== undefined) focusLevel.set(s, Math.max(l, focusLevel.get(s) ?? 0) as Level);
    const prev = found.get(s);
    if (!found.has(s) || (l !== undefined && (prev === undefined || l > prev))) found.set(s, l);
  };
  let planned: Skill | undefined;
  let plannedLevel: number | undefined;
  if (exp.label.type === 'text') {
    planned = step.skill;
    plannedLevel = step.difficulty;
    if (exp.text?.type === 'clarify') {
      const hinted = withheldLabels(step, index).some((l) => mentions(text, l));
      note('clarify_missing', step.withheld.length >= 2 ? 3 : hinted ? 1 : 2);
    } else if (exp.text?.type === 'refusal') note('irrelevant_request', step.difficulty as Level | undefined);
  } else {
    const round = step.rounds[exp.round];
    planned = round?.skill;
    plannedLevel = round?.difficulty;
    const calls = exp.label.calls;
    if (calls.length >= 2) note('parallel_calls', Math.min(3, calls.length - 1) as Level);
    calls.forEach((c, ci) => {
      const pc = round?.calls[ci];
      const info = index.get(c.name);
      if (!info) return;
      for (const [path, ref] of Object.entries(pc?.refs ?? {})) note('multi_step_reference', exp.round >= 2 ? 3 : refLevel(ref.path, path));
      const nd = nearDupLevel(info, index);
      if (nd) note('near_duplicate_tools', nd);
      for (const p of info.meta.params) {
        if (pc && p.path in pc.refs) continue;
        const v = getPath(c.arguments, p.path);
        if (v === undefined) continue;
        const cls = paramClass(info, p);
        const focus = round?.focus.includes(`${ci}.${p.path}`) ?? false;
        for (const x of Array.isArray(v) ? v : [v]) {
          if (x === null || typeof x === 'object' || typeof x === 'boolean') continue;
          const canon = String(x);
          if (cls === 'number') {
            // digits in the text mean the user gave the number as a number (unless this is the planned one)
            if (!focus && mentions(text, canon)) continue;
            const f = formUsed(convertingForms('number', p.kind, x), text);
            if (f) note('number_words', f.level, focus);
          } else if (cls === 'date' || cls === 'enum') {
            if (mentions(text, canon, true)) continue;
            const f = formUsed(convertingForms(cls, p.kind, x), text);
            if (f) note(cls === 'date' ? 'dates_formats' : 'enum_mapping', f.level, focus);
          } else if (cls === 'ident') {
            if (mentions(text, canon, true)) note('copy_identifier', identifierLevel(x), focus);
          } else if (planned === 'copy_identifier' && focus && typeof x === 'string' && mentions(text, canon, true)) note('copy_identifier', 1, true);
        }
      }
    });
  }
  const primary = planned && found.has(planned) ? planned : PRIORITY.find((s) => found.has(s)) ?? (planned && plannedLevel === undefined && !isFocusSkill(planned) ? planned : undefined) ?? kindSkill(exp.kind);
  const level = (primary === planned ? focusLevel.get(primary) : undefined) ?? found.get(primary) ?? (primary === planned ? (plannedLevel as Level | undefined) : undefined);
  return { skills: [primary, ...Skill.options.filter((s) => s !== primary && found.has(s))], ...(level ? { difficulty: level } : {}) };
}

function kindSkill(kind: SampleKind): Skill {
  const map: Record<SampleKind, Skill> = {
    single: 'copy_identifier', multiple: 'near_duplicate_tools', parallel: 'parallel_calls', multi_step: 'multi_step_reference', clarify: 'clarify_missing', irrelevant: 'irrelevant_request',
  };
  return map[kind];
}

