import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bfclTools, parseQuestions } from '../../protocols/bfcl/index.ts';
import { bfclAnswers, tallyAnswers } from '../../protocols/loop/answers.ts';
import { bfclExpected, bfclOverall, bfclPrompt, checkBfclAnswer, evalBfcl } from '../../runtime/loop/bfcl.ts';
import { bfclDataDir, loadBfclCategory } from '../../runtime/bfcl/files.ts';
import type { BfclItemRecord } from '../../protocols/loop/records.ts';

const DIR = bfclDataDir();
const skip = !existsSync(join(DIR, 'BFCL_v3_simple.json')) && 'no BFCL data here';
const call = (name: string, args: string) => `<tool_call>\n{"name": "${name}", "arguments": ${args}}\n</tool_call>`;

test('the loop offers a BFCL question as `eval bfcl run --mode fc` does and scores a Hermes answer with the leaderboard checker', { skip }, () => {
  const ds = loadBfclCategory(DIR, 'simple');
  assert.equal(checkBfclAnswer(ds, 'simple_0', call('calculate_triangle_area', '{"base": 10, "height": 5}')).valid, true);
  const wrong = checkBfclAnswer(ds, 'simple_0', call('calculate_triangle_area', '{"base": 10, "height": 6}'));
  assert.equal(wrong.valid, false);
  assert.match(wrong.error_type!, /^value_error/);
  assert.equal(checkBfclAnswer(ds, 'simple_0', 'The area is 25.').valid, false);
  const irr = loadBfclCategory(DIR, 'irrelevance');
  assert.equal(checkBfclAnswer(irr, irr.order[0]!, 'I cannot help with that.').valid, true);
  assert.equal(checkBfclAnswer(irr, irr.order[0]!, call('calculate_triangle_area', '{"base": 1, "height": 1}')).error_type, 'irrelevance_error:decoder_success');
});

test('a dotted BFCL function is offered with "." written "_", the name the FC checker expects', { skip }, () => {
  const { questions } = parseQuestions('simple', readFileSync(join(DIR, 'BFCL_v3_simple.json'), 'utf8'));
  const q = questions.find((x) => x.functions.some((f) => f.name.includes('.')))!;
  assert.ok(q, 'the simple category has a dotted function name');
  const dotted = q.functions[0]!.name;
  const prompt = bfclPrompt(q);
  assert.deepEqual(
    prompt.tools.map((t) => t.name),
    q.functions.map((f) => f.name.replaceAll('.', '_')),
  );
  assert.deepEqual(prompt.messages, q.messages);
  const ds = loadBfclCategory(DIR, 'simple');
  const expected = bfclExpected(ds, q.id)!;
  assert.equal(expected[0]!.name, dotted.replaceAll('.', '_'));
  // the ground truth's first allowed values, called by the offered name, pass; by the dotted name they fail
  const args = Object.fromEntries(Object.entries(expected[0]!.params).filter(([, v]) => v[0] !== "''").map(([p, v]) => [p, JSON.parse(v[0]!.replaceAll("'", '"'))]));
  assert.equal(checkBfclAnswer(ds, q.id, call(prompt.tools[0]!.name, JSON.stringify(args))).valid, true, JSON.stringify(args));
  assert.equal(checkBfclAnswer(ds, q.id, call(dotted, JSON.stringify(args))).error_type, 'simple_function_checker:wrong_func_name');
});

test('the loop offers every BFCL question the tools `eval bfcl run --mode fc` offers: same names, descriptions and parameters', { skip }, () => {
  for (const category of ['simple', 'multiple', 'parallel', 'parallel_multiple', 'irrelevance', 'live_simple'] as const) {
    const { questions } = parseQuestions(category, readFileSync(join(DIR, `BFCL_v3_${category}.json`), 'utf8'));
    for (const q of questions) {
      const p = bfclPrompt(q);
      assert.deepEqual(p.unoffered, [], `${q.id}: every function offered`);
      assert.deepEqual(
        p.tools.map((t) => ({ ...t })),
        bfclTools(q.functions).tools.map((t) => t.function),
        q.id,
      );
    }
  }
});

test('a BFCL question file with a line that is not a question is refused, naming it, before anything is asked', { skip }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'looptool-bfcl-bad-'));
  try {
    mkdirSync(join(tmp, 'possible_answer'));
    const head = (f: string) => readFileSync(join(DIR, f), 'utf8').split('\n').slice(0, 2).join('\n');
    writeFileSync(join(tmp, 'BFCL_v3_simple.json'), `${head('BFCL_v3_simple.json')}\n{"id": "simple_x", "question": "not a list"}\n`);
    writeFileSync(join(tmp, 'possible_answer', 'BFCL_v3_simple.json'), `${head('possible_answer/BFCL_v3_simple.json')}\n`);
    const never = (() => {
      throw new Error('nothing may be asked');
    }) as unknown as Parameters<typeof evalBfcl>[0];
    await assert.rejects(evalBfcl(never, { dir: tmp, categories: ['simple'], max_new_tokens: 8 }, 0, 't'), /loop\.eval\.bfcl: BFCL_v3_simple\.json has lines that are not questions: questions line 3: /);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('BFCL answers: misses named as the simulated splits name theirs, beside the checker verdict; the overall is the mean over categories with its se', () => {
  const item = (id: string, category: string, text: string, correct: boolean, expected: BfclItemRecord['expected'], errorType: string | null = null): BfclItemRecord => ({
    type: 'bfcl_item',
    round: 1,
    category,
    id,
    tools: ['f', 'g'],
    messages: [{ role: 'user', content: 'q' }],
    expected,
    text,
    cutOff: false,
    correct,
    errorType,
  });
  const fg = [{ name: 'f', params: { x: ['1'] } }];
  const answers = bfclAnswers([
    item('s0', 'simple', call('f', '{"x": 1}'), true, fg),
    item('s1', 'simple', call('f', '{"x": 2}'), false, fg, 'value_error:others'),
    item('s2', 'simple', call('g', '{"x": 1}'), false, fg, 'simple_function_checker:wrong_func_name'),
    item('s3', 'simple', 'no idea', false, fg, 'ast_decoder:decoder_failed'),
    item('s4', 'simple', '<tool_call>{"name": "f", "arguments": {', false, fg, 'ast_decoder:decoder_failed'),
    item('p0', 'parallel', call('f', '{"x": 1}'), false, [...fg, ...fg], 'parallel_function_checker_no_order:wrong_count'),
    item('i0', 'irrelevance', call('f', '{"x": 1}'), false, null, 'irrelevance_error:decoder_success'),
    item('i1', 'irrelevance', 'not with these tools', true, null),
  ]);
  assert.deepEqual(
    answers.map((a) => a.miss),
    [null, 'wrong_arguments', 'wrong_tool', 'no_call', 'unparsed', 'wrong_count', 'spurious_call', null],
  );
  assert.equal(answers[1]!.errorType, 'value_error:others');
  assert.deepEqual(answers[0]!.prediction, { type: 'calls', calls: [{ name: 'f', arguments: { x: 1 } }] });
  const t = tallyAnswers(answers, 'category');
  assert.deepEqual(Object.keys(t.groups), ['simple', 'parallel', 'irrelevance']);
  assert.equal(t.groups.simple!.accuracy.k, 1);
  assert.deepEqual(t.groups.simple!.misses, { wrong_arguments: 1, wrong_tool: 1, no_call: 1, unparsed: 1 });

  const o = bfclOverall({ simple: { n: 100, correct: 50, accuracy: 0.5, se: 0.05 }, irrelevance: { n: 25, correct: 20, accuracy: 0.8, se: 0.08 } });
  assert.equal(o.overall, 0.65);
  assert.ok(Math.abs(o.overallSe! - Math.sqrt(0.05 ** 2 + 0.08 ** 2) / 2) < 1e-12);
  assert.equal(o.neverCall, 0.5, 'never calling is right on irrelevance only');
  assert.equal(bfclOverall({ simple: { n: 1, correct: 0, accuracy: 0 }, live_irrelevance: { n: 1, correct: 1, accuracy: 1 }, live_relevance: { n: 1, correct: 0, accuracy: 0 } }).neverCall, 1 / 3);
  assert.deepEqual(bfclOverall({}), { overall: null, categories: {} });
});
