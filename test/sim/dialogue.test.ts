import { test } from 'node:test';
import assert from 'node:assert/strict';
import { designToolSet } from '../../agents/api-designer/design.ts';
import { simPlan } from '../../agents/planner/sim.ts';
import { simTurn } from '../../agents/user/sim.ts';
import { simExecute, validateCall } from '../../agents/tool/sim.ts';
import { getPath, labelOf, parseResult } from '../../protocols/truth/reply.ts';
import { sameLabel } from '../../protocols/toolcalls/index.ts';
import { importSpecs } from '../../agents/api-designer/import.ts';
import { SimConfig } from '../../protocols/sim-config.ts';
import { Plan } from '../../protocols/plan.ts';
import { SampleKind } from '../../protocols/sample.ts';
import { RespondOutput } from '../../protocols/roles/assistant.ts';
import { TurnOutput } from '../../protocols/roles/user.ts';
import { ExecuteOutput } from '../../protocols/roles/tool.ts';
import type { ParamSchema, ToolSpec } from '../../protocols/toolspec.ts';
import type { JsonValue } from '../../protocols/json.ts';
import { readFileSync } from 'node:fs';
import { driveDialogue } from './drive.ts';

const cfg = SimConfig.parse({});
/** A world without mistakes: no label noise, no sampling slips, no tool failures. */
const clean = SimConfig.parse({ noise: { labelRate: 0, sampleRate: 0 }, tool: { errorRate: 0 } });

function conforms(s: ParamSchema, v: JsonValue): boolean {
  if (s.enum && !s.enum.some((e) => e === v)) return false;
  switch (s.type) {
    case 'object':
      return !!v && typeof v === 'object' && !Array.isArray(v) && (s.required ?? []).every((k) => k in v) && Object.entries(v).every(([k, x]) => !s.properties?.[k] || conforms(s.properties[k]!, x));
    case 'array':
      return Array.isArray(v) && v.every((x) => !s.items || conforms(s.items, x));
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'null':
      return v === null;
    default:
      return typeof v === s.type;
  }
}

test('the same seed gives the same plan and the same dialogue; another seed does not', () => {
  const tools = designToolSet({ seed: 'det' }, cfg);
  const a = driveDialogue('det', tools, cfg);
  const b = driveDialogue('det', tools, cfg);
  assert.deepEqual(a.plan, b.plan);
  assert.deepEqual(a.messages, b.messages);
  const c = driveDialogue('det-2', tools, cfg);
  assert.notDeepEqual(a.messages, c.messages);
  // answers do not depend on what else was asked before (no shared RNG state)
  const plan = simPlan({ seed: 'p', tools }, cfg);
  const u1 = simTurn({ seed: 'u', tools, messages: [], plan }, cfg);
  simTurn({ seed: 'zzz', tools, messages: [], plan }, cfg);
  assert.deepEqual(simTurn({ seed: 'u', tools, messages: [], plan }, cfg), u1);
  Plan.parse(plan);
});

test('plans cover every request kind, and requested kinds are honoured', () => {
  const seen = new Map<string, number>();
  for (let i = 0; i < 120; i++) {
    const tools = designToolSet({ seed: `k${i}` }, cfg);
    for (const s of simPlan({ seed: `k${i}`, tools }, cfg).steps) seen.set(s.kind, (seen.get(s.kind) ?? 0) + 1);
  }
  for (const k of SampleKind.options) assert.ok((seen.get(k) ?? 0) >= 10, `kind ${k}: ${seen.get(k) ?? 0}`);
  const tools = designToolSet({ seed: 'kinds', domain: 'travel', subdomain: 'flights', similar: true }, cfg);
  const plan = simPlan({ seed: 'kinds', tools, kinds: ['parallel', 'multi_step', 'clarify', 'irrelevant', 'multiple'] }, cfg);
  assert.deepEqual(plan.steps.map((s) => s.kind), ['parallel', 'multi_step', 'clarify', 'irrelevant', 'multiple']);
  const [par, multi, clar, irr, mult] = plan.steps;
  assert.ok(par!.rounds[0]!.calls.length >= 2);
  assert.equal(multi!.rounds.length, 2);
  assert.equal(Object.keys(multi!.rounds[1]!.calls[0]!.refs).length, 1);
  assert.ok(clar!.withheld.length >= 1);
  assert.equal(irr!.rounds.length, 0);
  assert.equal(mult!.rounds[0]!.kind, 'multiple');
});

test('request kinds play out: parallel calls in one message, multi-step uses an earlier result, clarify asks then gets the value, irrelevant gets text', () => {
  const tools = designToolSet({ seed: 'play', domain: 'travel', subdomain: 'flights', similar: true, count: 5 }, clean);
  const plan = simPlan({ seed: 'play', tools, kinds: ['parallel', 'multi_step', 'clarify', 'irrelevant'] }, clean);
  const d = driveDialogue('play', tools, clean, { plan });
  assert.equal(d.stopped, 'done');
  const m = d.messages;
  const users = m.map((x, i) => (x.role === 'user' ? i : -1)).filter((i) => i >= 0);
  assert.equal(users.length, 5, 'four requests plus one follow-up with the withheld value');
  // parallel: the first assistant answer has all the calls at once
  const first = m[users[0]! + 1]!;
  assert.equal(first.role, 'assistant');
  assert.ok(first.role === 'assistant' && first.tool_calls.length >= 2);
  // multi-step: the second call carries a value taken from the first call's result
  const seg = m.slice(users[1]!, users[2]!);
  const calls = seg.filter((x) => x.role === 'assistant' && x.tool_calls.length);
  assert.equal(calls.length, 2);
  const ref = Object.entries(plan.steps[1]!.rounds[1]!.calls[0]!.refs)[0]!;
  const toolMsg = seg.find((x) => x.role === 'tool')!;
  const fromResult = getPath(parseResult(toolMsg.role === 'tool' ? toolMsg.content : '')!, ref[1].path);
  const second = calls[1]!;
  assert.ok(second.role === 'assistant');
  assert.equal(getPath(second.tool_calls[0]!.arguments, ref[0]), fromResult);
  // clarify: a question without calls, then the user supplies it, then the call
  const ask = m[users[2]! + 1]!;
  assert.ok(ask.role === 'assistant' && ask.tool_calls.length === 0 && /\?/.test(ask.content), JSON.stringify(ask));
  const after = m[users[3]! + 1]!;
  assert.ok(after.role === 'assistant' && after.tool_calls.length === 1);
  for (const w of plan.steps[2]!.withheld) {
    const path = w.slice(w.indexOf('.') + 1);
    assert.deepEqual(getPath(after.tool_calls[0]!.arguments, path), getPath(plan.steps[2]!.rounds[0]!.calls[0]!.arguments, path));
  }
  // irrelevant: plain text
  const irr = m[users[4]! + 1]!;
  assert.ok(irr.role === 'assistant' && irr.tool_calls.length === 0);
});

test('users write values in forms that need converting, and the teacher converts them', () => {
  const text: string[] = [];
  let converted = 0;
  for (let i = 0; i < 60; i++) {
    const tools = designToolSet({ seed: `conv${i}` }, clean);
    const d = driveDialogue(`conv${i}`, tools, clean);
    text.push(...d.messages.filter((x) => x.role === 'user').map((x) => x.content));
    for (const t of d.turns) {
      const l = t.truth!.label;
      if (l.type !== 'calls') continue;
      for (const c of l.calls) {
        const dates = JSON.stringify(c.arguments).match(/"20\d\d-\d\d-\d\d"/g) ?? [];
        converted += dates.length;
      }
    }
  }
  const all = text.join('\n');
  assert.match(all, /\b(January|February|March|April|May|June|July|August|September|October|November|December) \d{1,2}(st|nd|rd|th)? ?,? 2026/, 'spelled-out dates');
  assert.match(all, /\b\d{1,2}(:\d\d)? ?(am|pm|AM|PM)\b/, '12-hour times');
  assert.match(all, /\b(one|two|three|four|five|six|seven|eight|nine|twenty)\b/, 'numbers in words');
  assert.match(all, /\$\d/, 'money with a currency sign');
  assert.ok(converted > 20, 'labels carry ISO dates');
  // no label ever carries a surface form: canonical values only
  for (let i = 0; i < 30; i++) {
    const tools = designToolSet({ seed: `canon${i}` }, clean);
    const d = driveDialogue(`canon${i}`, tools, clean);
    for (const t of d.turns) {
      const s = JSON.stringify(t.truth!.label);
      assert.doesNotMatch(s, /\d(st|nd|rd|th) |\b\d{1,2} ?(am|pm)\b|\$\d/, s);
    }
  }
});

test('a short dialogue driven by plain function calls terminates with consistent, valid calls', () => {
  for (let i = 0; i < 40; i++) {
    const tools = designToolSet({ seed: `e2e${i}` }, clean);
    const d = driveDialogue(`e2e${i}`, tools, clean);
    assert.equal(d.stopped, 'done', `dialogue e2e${i} did not finish`);
    const m = d.messages;
    for (let k = 0; k < m.length; k++) {
      const x = m[k]!;
      if (x.role === 'assistant') {
        RespondOutput.parse(x);
        // tool messages answer the calls one to one, in order
        for (let j = 0; j < x.tool_calls.length; j++) {
          const t = m[k + 1 + j]!;
          assert.ok(t.role === 'tool' && t.name === x.tool_calls[j]!.name && t.tool_call_id === x.tool_calls[j]!.id);
        }
        for (const c of x.tool_calls) {
          const spec = tools.find((s) => s.name === c.name);
          assert.ok(spec, `unknown tool ${c.name}`);
          assert.deepEqual(validateCall(spec, c), [], `${c.name}(${JSON.stringify(c.arguments)})`);
        }
      }
      if (x.role === 'tool') {
        const spec = tools.find((s) => s.name === x.name)!;
        const v = parseResult(x.content);
        assert.ok(v !== null && !(typeof v === 'object' && v && 'error' in v), x.content);
        if (spec.returns) assert.ok(conforms(spec.returns, v!), `${spec.name} result does not follow its returns shape: ${x.content}`);
      }
    }
    // in a clean world every chosen answer is the truth, and samples always agree
    for (const t of d.turns) {
      assert.ok(t.agreed);
      assert.equal(t.truth!.noisy, false);
      assert.ok(sameLabel(labelOf(m[t.index]! as never), t.truth!.label));
    }
  }
});

test('the tool simulator validates calls, fails at the configured rate, and shapes results', () => {
  const tools = designToolSet({ seed: 'tool', count: 6 }, cfg);
  const spec = tools.find((t) => t.parameters.required.length > 0)!;
  const req = spec.parameters.required[0]!;
  const missing = simExecute({ seed: 's', tool: spec, call: { name: spec.name, arguments: {} } }, cfg);
  assert.equal(missing.error, true);
  assert.match(missing.content, new RegExp(`missing required parameter \\\\"${req}\\\\"`));
  const extra = simExecute({ seed: 's', tool: spec, call: { name: spec.name, arguments: { bogus: 1 } } }, cfg);
  assert.match(extra.content, /unexpected parameter \\"bogus\\"/);
  const wrong = simExecute({ seed: 's', tool: spec, call: { name: 'other', arguments: {} } }, cfg);
  assert.match(wrong.content, /unknown function/);
  const plan = simPlan({ seed: 't', tools: [spec], kinds: ['single'] }, cfg);
  const call = plan.steps[0]!.rounds[0]!.calls[0]!;
  let errors = 0;
  const N = 600;
  for (let i = 0; i < N; i++) {
    const out = ExecuteOutput.parse(simExecute({ seed: `e${i}`, tool: spec, call: { name: call.name, arguments: call.arguments } }, SimConfig.parse({ tool: { errorRate: 0.2 } })));
    if (out.error) errors++;
    else assert.ok(conforms(spec.returns!, parseResult(out.content)!));
  }
  assert.ok(Math.abs(errors / N - 0.2) < 0.05, `error rate ${errors / N}`);
});

test('the sim works over imported BFCL tools too (inferred meta)', () => {
  const r = importSpecs(readFileSync('/work/shared/bfcl/v3/BFCL_v3_multiple.json', 'utf8'), 'bfcl');
  let finished = 0;
  for (let i = 0; i < 20; i++) {
    const names = r.sets[i]!;
    const tools: ToolSpec[] = names.map((n) => r.tools.find((t) => t.name === n)!);
    const d = driveDialogue(`bfcl${i}`, tools, clean);
    if (d.stopped === 'done') finished++;
    for (const x of d.messages) {
      if (x.role === 'user') TurnOutput.parse({ content: x.content, done: false });
      if (x.role === 'assistant') for (const c of x.tool_calls) assert.deepEqual(validateCall(tools.find((t) => t.name === c.name)!, c), []);
    }
  }
  assert.equal(finished, 20);
});
