/**
 * Simulated user (the `sim` brain of the user role).
 *
 * Models a person following a plan: each request is worded from a finite set of
 * openers, verb phrases and per-parameter phrases, with values often written the way
 * people write them ("March 3rd 2026", "3 pm", "twenty", "$1.5k", "euros", "French")
 * so the assistant has to convert them; optional values the plan leaves out are
 * simply not mentioned; withheld required values are given in a follow-up message
 * once the request has been made; parallel requests are joined in one message and
 * multi-step requests refer to "the first one" of an earlier result. When the plan
 * is done it closes the dialogue. Pure: the message depends on the input alone.
 */
import type { JsonValue } from '../../protocols/json.ts';
import type { ChatMessage } from '../../protocols/messages.ts';
import type { Plan, PlannedCall, PlanStep } from '../../protocols/plan.ts';
import type { ParamMeta } from '../../protocols/tool-meta.ts';
import type { SimConfig } from '../../protocols/sim-config.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import { rng, type Rng } from '../../protocols/rng.ts';
import { joinList, surfaceForms } from '../../protocols/truth/kinds.ts';
import {
  askFor, CHAIN_REF_LIST, CHAIN_REF_ONE, closing, linkChain, linkParallel, OFF_TOPIC_REQUESTS, supplyValues, verbPhrases,
} from '../common/sim/phrasing.ts';
import { getPath, toolIndex, userScript, withheldLabels, type ToolIndex } from '../../protocols/truth/reply.ts';
import { focusWords } from '../common/sim/skills.ts';
import type { Level } from '../../protocols/truth/forms.ts';

/** The arguments of one call that carry the round's skill, and the level to word them at. */
type Focus = { paths: Set<string>; level?: Level };
const NO_FOCUS: Focus = { paths: new Set() };

function focusOf(step: PlanStep, round: number, call: number): Focus {
  const rd = step.rounds[round];
  if (!rd) return NO_FOCUS;
  const paths = rd.focus.filter((f) => f.startsWith(`${call}.`)).map((f) => f.slice(f.indexOf('.') + 1));
  return { paths: new Set(paths), level: rd.difficulty as Level | undefined };
}

export type TurnRequest = { seed: string; tools: ToolSpec[]; messages: ChatMessage[]; plan: Plan };
export type TurnReply = { content: string; done: boolean };

/** A value as the user writes it: canonical text, or (at `surfaceRate`) a form to be converted. */
export function speakValue(p: ParamMeta, v: JsonValue, r: Rng, cfg: SimConfig): string {
  const one = (x: JsonValue) => {
    const forms = surfaceForms(p.kind, x);
    const converted = forms.slice(1);
    return converted.length && r.chance(cfg.user.surfaceRate) ? r.pick(converted) : forms[0]!;
  };
  return Array.isArray(v) ? joinList(v.map(one)) : one(v);
}

/** "from Paris to Rome on March 3rd 2026 for two passengers". */
function paramPhrases(call: PlannedCall, index: ToolIndex, r: Rng, cfg: SimConfig, skip: string[], focus: Focus = NO_FOCUS): string[] {
  const info = index.get(call.name);
  if (!info) return [];
  const out: string[] = [];
  for (const p of info.meta.params) {
    if (skip.includes(p.path) || p.path in call.refs) continue;
    const v = getPath(call.arguments, p.path);
    if (v === undefined) continue;
    const phrase = r.pick(p.phrases);
    if (p.kind === 'flag') {
      // a flag is said when it is on; off is the default nobody mentions
      if (v === true) out.push(phrase.includes('{v}') ? phrase.replace('{v}', p.label) : phrase);
      else out.push(`without ${p.label}`);
      continue;
    }
    // the argument the request was planned around is worded at the skill's level, always
    const text = (focus.paths.has(p.path) ? focusWords(info, p, v, focus.level, r) : undefined) ?? speakValue(p, v, r, cfg);
    out.push(phrase.includes('{v}') ? phrase.replace('{v}', text) : `${phrase} ${text}`);
  }
  return out;
}

function part(call: PlannedCall, index: ToolIndex, r: Rng, cfg: SimConfig, skip: string[] = [], tail = '', focus: Focus = NO_FOCUS): string {
  const info = index.get(call.name);
  const vp = info ? r.pick(verbPhrases(info.meta.verb)).replace('{o}', info.meta.object) : `use ${call.name}`;
  return [vp, ...paramPhrases(call, index, r, cfg, skip, focus), tail].filter(Boolean).join(' ');
}

const HINTS = ['I\'ll tell you the {l} in a moment.', 'I don\'t have the {l} handy yet.', 'I still need to check the {l}.'];

function requestText(step: PlanStep, index: ToolIndex, r: Rng, cfg: SimConfig): string {
  if (step.kind === 'irrelevant' || !step.rounds.length) return step.topic ?? r.pick(OFF_TOPIC_REQUESTS);
  const withheld = (ci: number) => step.withheld.filter((w) => w.startsWith(`${ci}.`)).map((w) => w.slice(w.indexOf('.') + 1));
  const first = step.rounds[0]!.calls;
  const text = requestBody(step, first, withheld, index, r, cfg);
  // a clarify request at level 1 names what it leaves out, without a value
  return step.hinted && step.withheld.length ? `${text} ${r.pick(HINTS).replace('{l}', joinList(withheldLabels(step, index)))}` : text;
}

function requestBody(step: PlanStep, first: PlannedCall[], withheld: (ci: number) => string[], index: ToolIndex, r: Rng, cfg: SimConfig): string {
  if (step.rounds.length >= 2) {
    let text = part(first[0]!, index, r, cfg, withheld(0), '', focusOf(step, 0, 0));
    step.rounds.slice(1).forEach((rd, k) => {
      const next = rd.calls[0]!;
      const ref = Object.values(next.refs)[0];
      const listy = ref ? /(^|\.)0\./.test(ref.path) : false;
      const b = part(next, index, r, cfg, [], r.pick(listy ? CHAIN_REF_LIST : CHAIN_REF_ONE), focusOf(step, k + 1, 0));
      text = k === 0 ? linkChain(r, text, b) : `${text}, and then ${b}`;
    });
    return askFor(r, text);
  }
  if (first.length >= 2) {
    const same = first.every((c) => c.name === first[0]!.name);
    const parts = first.map((c, i) => {
      // the same request again is usually shortened to its values ("and also from Rome to Berlin")
      if (i > 0 && same && r.chance(0.5)) {
        const ps = paramPhrases(c, index, r, cfg, withheld(i), focusOf(step, 0, i));
        if (ps.length) return ps.join(' ');
      }
      return part(c, index, r, cfg, withheld(i), '', focusOf(step, 0, i));
    });
    return askFor(r, linkParallel(r, parts, same));
  }
  return askFor(r, part(first[0]!, index, r, cfg, withheld(0), '', focusOf(step, 0, 0)));
}

function supplyText(step: PlanStep, index: ToolIndex, r: Rng, cfg: SimConfig): string {
  const items = step.withheld.map((w) => {
    const dot = w.indexOf('.');
    const call = step.rounds[0]!.calls[Number(w.slice(0, dot))]!;
    const path = w.slice(dot + 1);
    const info = index.get(call.name);
    const p = info?.meta.params.find((q) => q.path === path);
    const v = getPath(call.arguments, path) ?? null;
    if (!p || !info) return { label: path.replace(/[_.-]/g, ' '), text: typeof v === 'string' ? v : JSON.stringify(v) };
    const focus = focusOf(step, 0, Number(w.slice(0, dot)));
    return { label: p.label, text: (focus.paths.has(path) ? focusWords(info, p, v, focus.level, r) : undefined) ?? speakValue(p, v, r, cfg) };
  });
  return supplyValues(r, items);
}

/** The user's next message. */
export function simTurn(req: TurnRequest, cfg: SimConfig): TurnReply {
  const r = rng(req.seed, 'user');
  const index = toolIndex(req.tools);
  const script = userScript(req.plan);
  const said = req.messages.filter((m) => m.role === 'user').length;
  const entry = script[said];
  if (!entry) return { content: closing(r), done: true };
  const step = req.plan.steps[entry.step]!;
  const content = entry.phase === 'supply' ? supplyText(step, index, r, cfg) : requestText(step, index, r, cfg);
  return { content, done: false };
}
