import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { JsonValue } from '../../protocols/json.ts';
import type { Label } from '../../protocols/sample.ts';
import type { ToolCall } from '../../protocols/toolcall.ts';
import { formatHermes, rewardFromText, toolMatch } from '../../protocols/toolcalls/index.ts';
import { toolCall, toolCalls } from './arbitraries.ts';

const calls = (c: ToolCall[]): Label => ({ type: 'calls', calls: c });
const TEXT: Label = { type: 'text', text: 'No tool can do that.' };

/** The same call with its argument keys in another order (recursively). */
function reorderKeys(v: JsonValue, seed: number): JsonValue {
  if (Array.isArray(v)) return v.map((x) => reorderKeys(x, seed + 1));
  if (v === null || typeof v !== 'object') return v;
  const keys = Object.keys(v);
  const rotated = keys.map((_, i) => keys[(i + seed) % keys.length]).reverse();
  const out: Record<string, JsonValue> = {};
  for (const k of rotated) Object.defineProperty(out, k, { value: reorderKeys(v[k], seed + 1), enumerable: true, writable: true, configurable: true });
  return out;
}

function shuffled<T>(xs: T[], seed: number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = (seed * 31 + i * 17) % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Changes one leaf to a value of another type or content (never an equal JSON value). */
function perturbLeaf(v: JsonValue, choice: number): JsonValue | undefined {
  if (typeof v === 'string') return choice % 2 ? v + 'x' : Number.isFinite(Number(v)) && v.trim() !== '' ? Number(v) : v.toUpperCase() === v ? v + '!' : v.toUpperCase();
  if (typeof v === 'number') return choice % 2 ? String(v) : v + 1 !== v ? v + 1 : v / 2;
  if (typeof v === 'boolean') return choice % 2 ? !v : v ? 1 : 0;
  if (v === null) return choice % 2 ? 'null' : 0;
  return undefined;
}

/** Perturbs the first leaf found (depth first); undefined when the call has no leaf. */
function perturbCall(c: ToolCall, choice: number): ToolCall | undefined {
  const walk = (v: JsonValue): JsonValue | undefined => {
    const leaf = perturbLeaf(v, choice);
    if (leaf !== undefined) return leaf;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const w = walk(v[i]);
        if (w !== undefined) return v.map((x, j) => (j === i ? w : x));
      }
      return undefined;
    }
    const o = v as Record<string, JsonValue>;
    for (const k of Object.keys(o)) {
      const w = walk(o[k]);
      if (w !== undefined) return { ...o, [k]: w };
    }
    return undefined;
  };
  const args = walk(c.arguments);
  return args === undefined ? undefined : { ...c, arguments: args as Record<string, JsonValue> };
}

describe('ToolMatch', () => {
  it('is invariant under call order and argument key order (property)', () => {
    fc.assert(
      fc.property(toolCalls, fc.nat(), (cs, seed) => {
        const pred = shuffled(cs, seed).map((c) => ({ ...c, id: `other_${seed}`, arguments: reorderKeys(c.arguments, seed) as Record<string, JsonValue> }));
        assert.equal(toolMatch({ calls: pred }, calls(cs)), true);
      }),
      { numRuns: 500 },
    );
  });

  it('is strict: one changed value, name, missing or extra call gives 0 (property)', () => {
    fc.assert(
      fc.property(toolCalls, fc.nat(), fc.nat(), (cs, which, choice) => {
        const i = which % cs.length;
        const changed = perturbCall(cs[i], choice);
        if (changed) assert.equal(toolMatch({ calls: cs.map((c, j) => (j === i ? changed : c)) }, calls(cs)), false, 'value');
        const renamed = { ...cs[i], name: cs[i].name + '_v2' };
        assert.equal(toolMatch({ calls: cs.map((c, j) => (j === i ? renamed : c)) }, calls(cs)), false, 'name');
        assert.equal(toolMatch({ calls: cs.slice(1) }, calls(cs)), false, 'missing call');
        assert.equal(toolMatch({ calls: [...cs, cs[i]] }, calls(cs)), false, 'extra call');
        assert.equal(toolMatch({ calls: cs }, TEXT), false, 'calls where text was expected');
      }),
      { numRuns: 500 },
    );
  });

  it('compares calls as a multiset: [A, A, B] is not [A, B, B]', () => {
    fc.assert(
      fc.property(toolCall, toolCall, (a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b));
        const same = toolMatch({ calls: [a, b] }, calls([b, a]));
        assert.equal(same, true);
        if (toolMatch({ calls: [a] }, calls([b]))) return; // a and b equal as JSON values
        assert.equal(toolMatch({ calls: [a, a, b] }, calls([a, b, b])), false);
      }),
      { numRuns: 300 },
    );
  });

  it('values are strict, numbers compare as JSON numbers', () => {
    const label = calls([{ name: 'f', arguments: { n: 1, s: 'a', b: true, z: null, l: [1, 2], o: { x: 1 } } }]);
    const pred = (args: Record<string, JsonValue>) => ({ calls: [{ name: 'f', arguments: { n: 1, s: 'a', b: true, z: null, l: [1, 2], o: { x: 1 }, ...args } }] });
    assert.equal(toolMatch(pred({}), label), true);
    assert.equal(toolMatch(pred({ n: '1' }), label), false, '"1" is not 1');
    assert.equal(toolMatch(pred({ b: 1 }), label), false, '1 is not true');
    assert.equal(toolMatch(pred({ z: 'null' }), label), false, '"null" is not null');
    assert.equal(toolMatch(pred({ s: 'A' }), label), false, 'case matters');
    assert.equal(toolMatch(pred({ l: [2, 1] }), label), false, 'arrays are ordered');
    assert.equal(toolMatch(pred({ o: { x: 1, y: 2 } }), label), false, 'no extra keys');
    assert.equal(toolMatch(pred({ extra: 1 }), label), false, 'no extra arguments');
    assert.equal(toolMatch({ calls: [{ name: 'f', arguments: { n: 1, s: 'a', b: true, z: null, l: [1, 2], o: { x: 1 } }, floats: ['/n'] }] }, label), true, '1.0 is 1');
  });

  it('a text label matches any output without calls', () => {
    assert.equal(toolMatch({ calls: [] }, TEXT), true);
    assert.equal(toolMatch({ calls: [] }, calls([{ name: 'f', arguments: {} }])), false);
  });
});

describe('rewardFromText', () => {
  const label = calls([
    { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
    { name: 'get_time', arguments: { tz: 'CET' } },
  ]);

  it('rewards the right calls in any order and formatting', () => {
    const text =
      '<think>Two calls.</think>\n<tool_call>\n{"name": "get_time", "arguments": {"tz": "CET"}}\n</tool_call>\n' +
      '<tool_call>{"arguments": {"unit": "celsius", "city": "Paris"}, "name": "get_weather"}</tool_call>';
    const r = rewardFromText(text, label);
    assert.equal(r.reward, 1);
    assert.equal(r.calls.length, 2);
    assert.equal(rewardFromText(formatHermes(label.type === 'calls' ? label.calls : []), label).reward, 1);
  });

  it('no partial credit; a parse failure is 0 with the error', () => {
    const one = rewardFromText('<tool_call>{"name":"get_time","arguments":{"tz":"CET"}}</tool_call>', label);
    assert.deepEqual([one.reward, one.parseError], [0, undefined]);
    const broken = rewardFromText('<tool_call>{"name":"get_time","arguments":{"tz":"CET"}</tool_call>', label);
    assert.equal(broken.reward, 0);
    assert.match(broken.parseError!, /at \d+/);
  });

  it('text labels: 1 without calls, even unparseable; 0 as soon as a call or a tag appears', () => {
    assert.equal(rewardFromText('Sorry, I cannot book flights.', TEXT).reward, 1);
    assert.equal(rewardFromText('<think>should I call? <tool_call>{}</tool_call></think>No.', TEXT).reward, 1);
    const unfinished = rewardFromText('<think>still thinking', TEXT);
    assert.deepEqual([unfinished.reward, typeof unfinished.parseError], [1, 'string']);
    assert.equal(rewardFromText('<tool_call>{"name":"f","arguments":{}}</tool_call>', TEXT).reward, 0);
    assert.equal(rewardFromText('No. <tool_call>{"name":"f"', TEXT).reward, 0);
  });
});
