import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Sample, type Label } from '../../protocols/sample.ts';
import { filterAnswers, joinAnswers, pairAnswers, pairedProportionDiff, tallyAnswers, type EvalItemRecord } from '../../protocols/loop/index.ts';

const tool = (name: string) => ({ name, description: name, parameters: { type: 'object' as const, properties: { id: { type: 'string' as const } }, required: ['id'] } });
const call = (name: string, id: string) => ({ name, arguments: { id } });

function sample(id: string, label: Label, extra: Partial<Sample> = {}): Sample {
  return Sample.parse({
    id,
    kind: label.type === 'calls' ? (label.calls.length > 1 ? 'parallel' : 'single') : 'irrelevant',
    tools: [tool('get_task'), tool('close_task')],
    context: [{ role: 'user', content: `about ${id}` }],
    label,
    provenance: { source: 'seed', round: 0 },
    ...extra,
  });
}

const hermes = (...calls: { name: string; arguments: object }[]) => calls.map((c) => `<tool_call>\n${JSON.stringify(c)}\n</tool_call>`).join('\n');
const item = (id: string, text: string, correct: boolean, extra: Partial<EvalItemRecord> = {}): EvalItemRecord => ({ type: 'eval_item', round: 2, split: 'test', id, kind: 'single', correct, text, ...extra });

test('every answer is parsed as ToolMatch parses it and its miss named: the call-or-text decision first, then the calls', () => {
  const one = { type: 'calls' as const, calls: [call('get_task', 'T-1')] };
  const samples = [
    sample('right', one),
    sample('spurious', { type: 'text', text: 'No tool does that.' }),
    sample('no-call', one),
    sample('unparsed', one),
    sample('tool', one),
    sample('count', one),
    sample('args', one),
    sample('text-unparsed', { type: 'text', text: 'Which task?' }),
  ];
  const items = [
    item('right', hermes(call('get_task', 'T-1')), true),
    item('spurious', hermes(call('get_task', 'T-1')), false),
    item('no-call', 'Sure, which task?', false),
    item('unparsed', '<tool_call>\n{"name": "get_task", "arguments": {\n</tool_call>', false),
    item('tool', hermes(call('close_task', 'T-1')), false),
    item('count', hermes(call('get_task', 'T-1'), call('get_task', 'T-2')), false),
    item('args', hermes(call('get_task', 'T-9')), false, { cutOff: true }),
    item('text-unparsed', '<tool_call>\n{"name": "get_task"\n</tool_call>', false),
  ];
  const got = joinAnswers(samples, items, true);
  assert.deepEqual(
    got.map((a) => [a.id, a.miss]),
    [
      ['right', null],
      ['spurious', 'spurious_call'],
      ['no-call', 'no_call'],
      ['unparsed', 'unparsed'],
      ['tool', 'wrong_tool'],
      ['count', 'wrong_count'],
      ['args', 'wrong_arguments'],
      ['text-unparsed', 'unparsed'],
    ],
  );
  assert.deepEqual(got[0]!.prediction, one);
  assert.deepEqual(got[2]!.prediction, { type: 'text', text: 'Sure, which task?' });
  assert.ok(got[3]!.parseError, 'a call that does not parse keeps the parser\'s reason');
  assert.equal(got[6]!.cutOff, true);
  assert.deepEqual(got[0]!.tools, ['get_task', 'close_task']);
  assert.equal(got[0]!.skill, 'copy_identifier', 'a record from before skills takes the sample\'s primary skill');
});

test('with eval.useTruth the answer is shown against the hidden true label it was scored on, else against the visible one', () => {
  const truth = { type: 'calls' as const, calls: [call('get_task', 'T-1')] };
  const s = sample('noisy', { type: 'calls', calls: [call('get_task', 'T-7')] }, { truth: { label: truth, noisy: true, noise: 'value' } });
  const it = item('noisy', hermes(call('get_task', 'T-1')), true);
  assert.deepEqual(joinAnswers([s], [it], true)[0]!.expected, truth);
  assert.deepEqual(joinAnswers([s], [it], false)[0]!.expected, s.label);
});

test('answers that name no sample of the split are an error naming them, not a shorter list', () => {
  const s = sample('a', { type: 'text', text: 'no' });
  assert.throws(() => joinAnswers([s], [item('a', 'no', true), item('elsewhere', 'no', true)], true), /1 of 2 answers name no sample of the split \(first: elsewhere\)/);
});

test('the tally gives accuracy with its standard error and the misses by how they missed, per skill and overall; filters narrow by skill, kind and miss', () => {
  const one = { type: 'calls' as const, calls: [call('get_task', 'T-1')] };
  const samples = ['a', 'b', 'c', 'd'].map((id) => sample(id, one));
  const got = joinAnswers(
    samples,
    [
      item('a', hermes(call('get_task', 'T-1')), true, { skill: 'copy_identifier' }),
      item('b', 'text', false, { skill: 'copy_identifier' }),
      item('c', hermes(call('close_task', 'T-1')), false, { skill: 'near_duplicate_tools' }),
      item('d', hermes(call('get_task', 'T-2')), false, { skill: 'near_duplicate_tools' }),
    ],
    true,
  );
  const t = tallyAnswers(got, 'skill');
  assert.deepEqual(Object.keys(t.groups), ['copy_identifier', 'near_duplicate_tools']);
  assert.deepEqual(t.groups.copy_identifier!.accuracy, { n: 2, k: 1, value: 0.5, se: Math.sqrt(0.25 / 2) });
  assert.deepEqual(t.groups.near_duplicate_tools!.misses, { wrong_tool: 1, wrong_arguments: 1 });
  assert.deepEqual(t.all.misses, { no_call: 1, wrong_tool: 1, wrong_arguments: 1 });
  assert.deepEqual(
    filterAnswers(got, { skill: 'near_duplicate_tools', miss: 'wrong_tool' }).map((a) => a.id),
    ['c'],
  );
  assert.equal(filterAnswers(got, { kind: 'parallel' }).length, 0);
});

test('two sets of answers pair by item: the 2 × 2 table and a − b from the items only one got right', () => {
  const a = [
    { id: '1', correct: true, skill: 's', kind: 'k' },
    { id: '2', correct: true, skill: 's', kind: 'k' },
    { id: '3', correct: false, skill: 't', kind: 'k' },
    { id: '4', correct: false, skill: 't', kind: 'k' },
    { id: 'only-a', correct: true, skill: 't', kind: 'k' },
  ];
  const b = [
    { id: '4', correct: true, skill: 't', kind: 'k' },
    { id: '3', correct: false, skill: 't', kind: 'k' },
    { id: '2', correct: false, skill: 's', kind: 'k' },
    { id: '1', correct: true, skill: 's', kind: 'k' },
    { id: 'only-b', correct: true, skill: 't', kind: 'k' },
  ];
  const p = pairAnswers(a, b, 'skill');
  assert.deepEqual([p.all.both, p.all.onlyA, p.all.onlyB, p.all.neither], [1, 1, 1, 1]);
  assert.equal(p.all.diff.value, 0);
  assert.deepEqual(p.onlyInA, ['only-a']);
  assert.deepEqual(p.onlyInB, ['only-b']);
  assert.deepEqual([p.groups.s!.onlyA, p.groups.s!.diff.value, p.groups.t!.onlyB, p.groups.t!.diff.value], [1, 0.5, 1, -0.5]);
  assert.throws(() => pairAnswers(a.slice(0, 1), b.slice(4), 'skill'), /share no item/);
});

test('the paired difference: its plain standard error by hand, and an interval that stays in [−1, 1] where every item moved one way', () => {
  // 15 items only a got right, 44 only b, of 120: d = −29/120; se² = (59/120 − d²)/120
  const d = pairedProportionDiff(15, 44, 120);
  assert.equal(d.value, -29 / 120);
  assert.ok(Math.abs(d.se - Math.sqrt((59 / 120 - (29 / 120) ** 2) / 120)) < 1e-12);
  // Agresti–Min: 0.5 added to each cell, then the same formula on 122 items
  const adj = -29 / 122;
  const half = 1.959964 * Math.sqrt((60 / 122 - adj ** 2) / 122);
  assert.ok(Math.abs(d.lo! - (adj - half)) < 1e-12 && Math.abs(d.hi! - (adj + half)) < 1e-12);
  // all 18 moved to b: the plain interval would be the point −1; this one is not
  const all = pairedProportionDiff(0, 18, 18);
  assert.equal(all.value, -1);
  assert.equal(all.se, 0);
  assert.equal(all.lo, -1);
  assert.ok(all.hi! > -0.8 && all.hi! < -0.7, `upper bound ${all.hi}`);
  // nothing moved on 18 items still leaves ±10 points open
  const none = pairedProportionDiff(0, 0, 18);
  assert.ok(none.lo! < -0.09 && none.hi! > 0.09);
  assert.deepEqual(pairedProportionDiff(0, 0, 0), { n: 0, onlyA: 0, onlyB: 0, value: 0, se: 0, lo: null, hi: null });
  assert.throws(() => pairedProportionDiff(3, 4, 6), RangeError);
});

test('property: the paired interval holds its estimate, stays in [−1, 1], and swapping the sides mirrors it', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 400 }), fc.nat(), fc.nat(), (n, x, y) => {
      const b = x % (n + 1);
      const c = y % (n + 1 - b);
      const d = pairedProportionDiff(b, c, n);
      const m = pairedProportionDiff(c, b, n);
      assert.ok(d.lo! >= -1 && d.hi! <= 1 && d.lo! <= d.hi!);
      const adj = (b - c) / (n + 2);
      assert.ok(d.lo! <= adj && adj <= d.hi!);
      assert.ok(Math.abs(d.lo! + m.hi!) < 1e-12 && Math.abs(d.hi! + m.lo!) < 1e-12);
    }),
  );
});
