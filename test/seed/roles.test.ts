import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isLooptoolError, LooptoolError } from '../../protocols/errors.ts';
import type { ChatMessage } from '../../protocols/messages.ts';
import { ApiDesignerContract } from '../../protocols/roles/api-designer.ts';
import { AssistantContract } from '../../protocols/roles/assistant.ts';
import { JudgeContract } from '../../protocols/roles/judge.ts';
import { PlannerContract } from '../../protocols/roles/planner.ts';
import { ToolContract } from '../../protocols/roles/tool.ts';
import { UserContract } from '../../protocols/roles/user.ts';
import { ValidatorContract } from '../../protocols/roles/validator.ts';
import { checkToolSet, errorsOnly } from '../../protocols/toolspec-rules.ts';
import { checkDialogue } from '../../protocols/validate.ts';
import { seedRoles } from '../../agents/registry.ts';
import { LooptoolNode } from '../../runtime/bus/node.ts';
import { startTestBus, type TestBus } from '../helpers/bus.ts';

let bus: TestBus;
let node: LooptoolNode;
before(async () => {
  bus = await startTestBus();
  node = await bus.node('roles');
  for (const r of seedRoles) await node.serve(r);
});
after(async () => {
  await bus.stop();
});

test('every round-0 role is served with its sim brain and answers over the bus', async () => {
  const c = node.call;
  const { tools } = await c(ApiDesignerContract, 'design', { seed: 'roles/tools', count: 4, similar: true });
  assert.equal(tools.length, 4);
  assert.deepEqual(errorsOnly(checkToolSet(tools)), []);
  const again = await c(ApiDesignerContract, 'design', { seed: 'roles/tools', count: 4, similar: true });
  assert.deepEqual(again.tools, tools, 'same seed, same tool set');
  const tax = await c(ApiDesignerContract, 'taxonomy', {});
  assert.ok(tax.domains.length > 5 && tax.constraintLevels.length === 5);
  const imported = await c(ApiDesignerContract, 'import', {
    format: 'openai',
    source: [{ type: 'function', function: { name: 'get_time', description: 'Current time in a zone.', parameters: { type: 'object', properties: { zone: { type: 'string', description: 'IANA zone' } }, required: ['zone'] } } }],
  });
  assert.deepEqual(imported.tools.map((t) => t.name), ['get_time']);

  const plan = await c(PlannerContract, 'plan', { seed: 'roles/plan', tools, targetTurns: 3 });
  assert.equal(plan.steps.length, 3);
  assert.deepEqual(await c(PlannerContract, 'plan', { seed: 'roles/plan', tools, targetTurns: 3 }), plan);

  const messages: ChatMessage[] = [];
  const u = await c(UserContract, 'turn', { seed: 'roles/user/0', tools, messages, plan });
  assert.equal(u.done, false);
  assert.ok(u.content.length > 0);
  messages.push({ role: 'user', content: u.content });

  const a = await c(AssistantContract, 'respond', { seed: 'roles/asst/0', tools, messages, hidden: { plan } });
  assert.equal(a.role, 'assistant');
  assert.ok(a.truth, 'a sim assistant reports the truth of its answer');
  assert.ok(a.tool_calls.length > 0 || a.content.length > 0);
  const blind = await c(AssistantContract, 'respond', { seed: 'roles/asst/0', tools, messages });
  assert.equal(blind.truth, undefined, 'without the plan there is no truth to report');

  const target = a.tool_calls[0] ?? { name: tools[0]!.name, arguments: {} };
  const spec = tools.find((t) => t.name === target.name)!;
  const r = await c(ToolContract, 'execute', { seed: 'roles/tool/0', tool: spec, call: target });
  assert.doesNotThrow(() => JSON.parse(r.content));
  assert.equal(typeof r.error, 'boolean');

  const dialogue: ChatMessage[] = [...messages, { role: 'assistant', content: a.content, tool_calls: a.tool_calls }];
  const vote = await c(JudgeContract, 'judge_dialogue', { seed: 'roles/judge/0', tools, messages: dialogue, hidden: { plan } });
  assert.ok(['CORRECT', 'INCORRECT'].includes(vote.verdict));
  assert.ok(vote.analysis.length > 0);
  const label = a.tool_calls.length ? { type: 'calls' as const, calls: a.tool_calls } : { type: 'text' as const, text: a.content };
  const v = await c(JudgeContract, 'verify', {
    seed: 'roles/verify/0',
    sample: { id: 's', kind: 'single', tools, context: messages, label, provenance: { source: 'seed', round: 0 } },
    prediction: { type: 'text', text: 'no idea' },
    hidden: { truth: a.truth! },
  });
  assert.ok(['PRED_WRONG', 'LABEL_WRONG', 'BOTH_CORRECT', 'BOTH_WRONG'].includes(v.verdict));

  const checked = await c(ValidatorContract, 'check', { tools, messages: dialogue });
  assert.deepEqual(checked.failures, checkDialogue(tools, dialogue), 'the validator applies exactly the pure rule checks');
  const validated = await c(ValidatorContract, 'validate', { seed: 'roles/val', tools, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello', tool_calls: [] }], votes: 3 });
  assert.equal(validated.accepted, false);
  assert.equal(validated.reason, 'no_tool_use');
  assert.equal(validated.votes.length, 0, 'no judge votes once a rule failed');
});

test('validator.validate asks the judge over the bus and keeps a strict majority', async () => {
  const c = node.call;
  const { tools } = await c(ApiDesignerContract, 'design', { seed: 'roles/v2', count: 3 });
  const plan = await c(PlannerContract, 'plan', { seed: 'roles/v2', tools, targetTurns: 1, kinds: ['single'] });
  const messages: ChatMessage[] = [];
  for (let i = 0; i < 8; i++) {
    const last = messages.at(-1);
    if (!last || (last.role === 'assistant' && last.tool_calls.length === 0)) {
      const u = await c(UserContract, 'turn', { seed: `roles/v2/u${i}`, tools, messages, plan });
      if (u.done) break;
      messages.push({ role: 'user', content: u.content });
    } else if (last.role === 'assistant') {
      for (const [k, tc] of last.tool_calls.entries()) {
        const r = await c(ToolContract, 'execute', { seed: `roles/v2/t${i}/${k}`, tool: tools.find((t) => t.name === tc.name)!, call: tc });
        messages.push({ role: 'tool', name: tc.name, content: r.content });
      }
    } else {
      const a = await c(AssistantContract, 'respond', { seed: `roles/v2/a${i}`, tools, messages, hidden: { plan } });
      messages.push({ role: 'assistant', content: a.content, tool_calls: a.tool_calls });
    }
  }
  const out = await c(ValidatorContract, 'validate', { seed: 'roles/v2/val', tools, messages, votes: 3, hidden: { plan } });
  if (out.failures.length === 0) {
    assert.equal(out.votes.length, 3);
    const correct = out.votes.filter((v) => v.verdict === 'CORRECT').length;
    assert.equal(out.accepted, correct >= 2);
    if (!out.accepted) assert.equal(out.reason, 'judge_incorrect');
  } else {
    assert.equal(out.accepted, false);
    assert.equal(out.reason, out.failures[0]!.code);
  }
});

test('bad input is refused with the field named; it never reaches a brain', async () => {
  const c = node.call;
  await assert.rejects(
    c(PlannerContract, 'plan', { seed: 'x', tools: [] }),
    (e: unknown) => isLooptoolError(e, 'invalid_input') && e.reply.issues.some((i) => i.path === 'payload.tools'),
  );
  await assert.rejects(
    c(ApiDesignerContract, 'design', { seed: 'x', domain: 'atlantis' }),
    (e: unknown) => e instanceof LooptoolError && /atlantis/.test(e.message),
  );
});

test('a role refuses to start on an invalid run config, naming the field', async () => {
  const nc = await bus.connect();
  const bad = await LooptoolNode.start({ run: 'badcfg', runDir: bus.dir, nc, config: { seeding: { maxBadTurns: 'three' } } });
  try {
    await assert.rejects(bad.serve(seedRoles[1]!), (e: unknown) => e instanceof LooptoolError && e.reply.issues.some((i) => i.path === 'config.seeding.maxBadTurns'));
  } finally {
    await bad.stop();
  }
});
