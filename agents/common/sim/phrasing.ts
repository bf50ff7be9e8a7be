/**
 * Simulator support: how simulated people and the simulated assistant word things.
 *
 * A finite set of templates per situation (request openers, verb phrases per action
 * class, ways to link parallel and multi-step requests, clarifying questions,
 * follow-up answers, summaries, refusals, closings). Finite on purpose: varied enough
 * to be realistic, regular enough that a small model learns text -> call mappings.
 */
import type { JsonValue } from '../../../protocols/json.ts';
import type { Rng } from '../../../protocols/rng.ts';
import { joinList } from '../../../protocols/truth/kinds.ts';

const VERB_PHRASES: Record<string, string[]> = {
  search: ['find {o}', 'search for {o}', 'look up {o}', 'show me {o}'],
  find: ['find {o}', 'look for {o}', 'search for {o}', 'show me {o}'],
  get: ['get {o}', 'tell me {o}', 'show me {o}', 'fetch {o}'],
  check: ['check {o}', 'look up {o}', 'tell me {o}'],
  list: ['list {o}', 'show me {o}', 'pull up {o}'],
  show: ['show {o}', 'show me {o}', 'open {o}'],
  book: ['book {o}', 'reserve {o}', 'get me {o}'],
  reserve: ['reserve {o}', 'book {o}', 'hold {o}'],
  cancel: ['cancel {o}', 'call off {o}'],
  create: ['create {o}', 'make {o}', 'set up {o}', 'add {o}'],
  update: ['update {o}', 'change {o}', 'modify {o}'],
  delete: ['delete {o}', 'remove {o}', 'get rid of {o}'],
  send: ['send {o}', 'write {o}'],
  reply: ['reply to {o}', 'answer {o}', 'respond to {o}'],
  text: ['text {o}', 'send an SMS to {o}'],
  schedule: ['schedule {o}', 'set up {o}', 'arrange {o}'],
  reschedule: ['reschedule {o}', 'move {o}'],
  set: ['set {o}', 'change {o}', 'adjust {o}'],
  add: ['add {o}', 'put {o}'],
  remove: ['remove {o}', 'take out {o}'],
  calculate: ['calculate {o}', 'work out {o}', 'compute {o}', 'figure out {o}'],
  estimate: ['estimate {o}', 'give me an estimate of {o}', 'work out {o}'],
  convert: ['convert {o}', 'change {o}'],
  track: ['track {o}', 'check on {o}', 'follow up on {o}'],
  pay: ['pay {o}', 'settle {o}'],
  transfer: ['transfer {o}', 'send {o}', 'wire {o}'],
  order: ['order {o}', 'place an order for {o}'],
  buy: ['buy {o}', 'purchase {o}', 'get {o}'],
  sell: ['sell {o}'],
  play: ['play {o}', 'put on {o}', 'start playing {o}'],
  compare: ['compare {o}', 'put side by side {o}'],
  recommend: ['recommend {o}', 'suggest {o}'],
  translate: ['translate {o}'],
  define: ['define {o}', 'look up the meaning of {o}'],
  start: ['start {o}', 'turn on {o}', 'run {o}'],
  turn_on: ['turn on {o}', 'switch on {o}'],
  turn_off: ['turn off {o}', 'switch off {o}'],
  dim: ['dim {o}', 'set the brightness of {o}'],
  lock: ['lock {o}', 'secure {o}'],
  unlock: ['unlock {o}', 'open {o}'],
  arm: ['arm {o}', 'turn on {o}'],
  log: ['log {o}', 'record {o}', 'add {o}'],
  apply: ['apply for {o}', 'submit an application for {o}'],
  submit: ['submit {o}', 'hand in {o}', 'upload {o}'],
  enroll: ['enroll me in {o}', 'sign me up for {o}', 'register for {o}'],
  drop: ['drop {o}', 'withdraw from {o}'],
  subscribe: ['subscribe me to {o}', 'sign me up for {o}'],
  refill: ['refill {o}', 'renew {o}'],
  ship: ['ship {o}', 'send {o}'],
  locate: ['locate {o}', 'find {o}', 'tell me where to find {o}'],
  assign: ['assign {o}', 'put {o} on duty'],
  plan: ['plan {o}', 'work out {o}'],
  request: ['request {o}', 'ask for {o}', 'book {o}'],
  approve: ['approve {o}', 'sign off on {o}'],
  post: ['post {o}', 'publish {o}'],
  file: ['file {o}', 'submit {o}'],
  complete: ['complete {o}', 'mark as done {o}', 'finish {o}'],
  share: ['share {o}', 'send {o}'],
  return: ['return {o}', 'send back {o}'],
  write: ['write {o}', 'post {o}'],
  check_in: ['check in for {o}', 'do the online check-in for {o}'],
};

/** Verb phrases for an action class; {o} is the object. Unknown verbs are spoken as they are. */
export function verbPhrases(verb: string): string[] {
  return VERB_PHRASES[verb] ?? [`${verb.replace(/_/g, ' ')} {o}`, `use ${verb.replace(/_/g, ' ')} on {o}`];
}

const OPENERS_ASK = ['Can you {r}?', 'Could you {r}?', 'Please {r}.', 'I need you to {r}.', '{R}.', 'Hey, {r}, please.', 'Would you {r}?'];

/** Wraps a verb phrase with its parameters into a whole request. */
export function askFor(r: Rng, request: string): string {
  const t = r.pick(OPENERS_ASK);
  return t.replace('{r}', request).replace('{R}', capitalize(request));
}

const LINK_SAME = ['{a}, and also {b}', '{a}, then also {b}', '{a}, and {b} as well', '{a}, plus {b}'];
const LINK_NEXT = ['{a}, and also {b}', '{a}, and {b}', '{a}; and {b}', '{a}, and while you are at it, {b}'];
export const LINK_CHAIN = ['{a}, then {b}', '{a} and then {b}', '{a}, and after that {b}', 'first {a}, then {b}'];
export const CHAIN_REF_LIST = ['for the first one', 'using the first result', 'for the top result'];
export const CHAIN_REF_ONE = ['with that', 'using that', 'based on that'];

/** Joins several request parts (parallel requests). */
export function linkParallel(r: Rng, parts: string[], sameTool: boolean): string {
  let out = parts[0]!;
  for (const p of parts.slice(1)) out = r.pick(sameTool ? LINK_SAME : LINK_NEXT).replace('{a}', out).replace('{b}', p);
  return out;
}

export function linkChain(r: Rng, a: string, b: string): string {
  return r.pick(LINK_CHAIN).replace('{a}', a).replace('{b}', b);
}

/** Ends a request with the right punctuation for its opener. */
export function sentence(r: Rng, body: string): string {
  return askFor(r, body);
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ---------------------------------------------------------------- clarification

const ASK_MISSING = [
  'Sure, I can {what}. What {labels} should I use?',
  'I can help with that. Could you tell me the {labels}?',
  'To {what}, I need the {labels}. What should it be?',
  'Happy to help. Which {labels} would you like?',
];

export function askMissing(r: Rng, what: string, labels: string[]): string {
  return r.pick(ASK_MISSING).replace('{what}', what).replace('{labels}', joinList(labels));
}

const SUPPLY_ONE = ['The {label} is {v}.', 'Use {v} for the {label}.', 'It\'s {v}.', '{V}, please.', 'Make the {label} {v}.'];
const SUPPLY_MANY = ['{pairs}.', 'Sure: {pairs}.', 'Here you go: {pairs}.'];

export function supplyValues(r: Rng, items: { label: string; text: string }[]): string {
  if (items.length === 1) {
    const it = items[0]!;
    return r.pick(SUPPLY_ONE).replace('{label}', it.label).replace('{V}', capitalize(it.text)).replace('{v}', it.text);
  }
  const pairs = joinList(items.map((it) => `the ${it.label} is ${it.text}`));
  return r.pick(SUPPLY_MANY).replace('{pairs}', pairs);
}

// ---------------------------------------------------------------- off-topic, refusals, closings

export const OFF_TOPIC_REQUESTS = [
  'Tell me a joke about cats.', 'What is the meaning of life?', 'Write a short poem about autumn.',
  'Who won the 1998 World Cup?', 'How tall is Mount Everest?', 'Can you suggest a good name for my dog?',
  'Explain the history of the Roman Empire in a few sentences.', 'How do I tie a tie?', 'Why is the sky blue?',
  'Give me a riddle to solve.', 'What\'s your favorite color?', 'How many legs does a spider have?',
  'Can you help me with my philosophy essay?', 'What is the square root of a banana?',
];

const REFUSALS = [
  'I\'m sorry, but none of the tools I have can help with that.',
  'I can\'t help with that using the available tools.',
  'That\'s outside what my tools can do, sorry.',
  'Unfortunately I don\'t have a tool for that request.',
];

export function refusal(r: Rng): string {
  return r.pick(REFUSALS);
}

const CLOSINGS = ['Thanks, that\'s all!', 'Great, thank you.', 'Perfect, that\'s everything I needed.', 'Thanks for the help!', 'That\'s it for now, thanks.'];

export function closing(r: Rng): string {
  return r.pick(CLOSINGS);
}

// ---------------------------------------------------------------- summaries of tool results

function brief(v: JsonValue): string {
  if (v === null) return 'none';
  if (Array.isArray(v)) return v.length ? `${v.length} items` : 'none';
  if (typeof v === 'object') return Object.keys(v).length ? Object.entries(v).slice(0, 2).map(([k, x]) => `${k} ${brief(x)}`).join(', ') : 'nothing';
  return String(v);
}

function summarizeRecord(rec: JsonValue): string {
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return brief(rec);
  return Object.entries(rec)
    .slice(0, 3)
    .map(([k, v]) => `${k.replace(/[_-]/g, ' ')}: ${brief(v)}`)
    .join(', ');
}

/** One sentence about one tool result (parsed JSON, or null when not JSON). */
export function summarizeResult(name: string, result: JsonValue | null, raw: string): string {
  if (result === null) return `${name} returned: ${raw.slice(0, 80)}`;
  if (typeof result === 'object' && !Array.isArray(result) && 'error' in result) return `${name} failed: ${brief(result.error as JsonValue)}`;
  const list = findList(result);
  if (list) return list.length ? `${name} found ${list.length} result${list.length === 1 ? '' : 's'}; the first is ${summarizeRecord(list[0]!)}` : `${name} found nothing`;
  const rec = typeof result === 'object' && !Array.isArray(result) && result.data && typeof result.data === 'object' ? result.data : result;
  return `${name} returned ${summarizeRecord(rec)}`;
}

function findList(v: JsonValue): JsonValue[] | undefined {
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) {
      if (Array.isArray(x)) return x;
      if (x && typeof x === 'object') {
        const inner = findList(x);
        if (inner) return inner;
      }
    }
  }
  return undefined;
}

const SUMMARY_OPENERS = ['Here\'s what I found: ', 'Done. ', 'All set. ', 'Here you go: '];
const ERROR_OPENERS = ['Sorry, something went wrong. ', 'I ran into a problem. ', 'That didn\'t work. '];

export function summary(r: Rng, sentences: string[], failed: boolean): string {
  return (failed ? r.pick(ERROR_OPENERS) : r.pick(SUMMARY_OPENERS)) + sentences.map((s) => `${s}.`).join(' ');
}
