import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ToolCall } from '../../protocols/toolcall.ts';
import {
  formatHermes,
  formatJsonCalls,
  formatOpenAIToolCalls,
  formatPythonCalls,
  formatToolCalls,
  parseHermes,
  parseJsonCalls,
  parseOpenAIToolCalls,
  parsePythonCalls,
  pyFloatRepr,
  pyStrRepr,
  type ParseResult,
} from '../../protocols/toolcalls/index.ts';
import { ToolCall as ToolCallSchema } from '../../protocols/toolcall.ts';
import { toolCalls } from './arbitraries.ts';

/** Calls compared with their integral-float pointers as a set (their order follows key order). */
function normalized(calls: ToolCall[]) {
  return calls.map((c) => ({ ...c, floats: c.floats ? [...c.floats].sort() : undefined }));
}

function calls(r: ParseResult): ToolCall[] {
  if (!r.ok) assert.fail(`${r.error.message} (pos ${r.error.pos})`);
  return r.calls;
}

describe('formatting', () => {
  it('formatHermes writes the canonical target text', () => {
    const c: ToolCall[] = [
      { name: 'get_weather', arguments: { city: 'Zürich', days: 3, temp: 4, tags: ['a', 'b'] }, floats: ['/temp'] },
      { name: 'now', arguments: {} },
    ];
    assert.equal(
      formatHermes(c, ' Checking. '),
      'Checking.\n<tool_call>\n{"name":"get_weather","arguments":{"city":"Zürich","days":3,"temp":4.0,"tags":["a","b"]}}\n</tool_call>\n' +
        '<tool_call>\n{"name":"now","arguments":{}}\n</tool_call>',
    );
    assert.equal(formatHermes(c.slice(1)), '<tool_call>\n{"name":"now","arguments":{}}\n</tool_call>');
    assert.equal(formatHermes([], 'No call.'), 'No call.');
  });

  it('Python calls use Python reprs', () => {
    const c: ToolCall[] = [
      { name: 'mod.f', arguments: { s: "it's", n: null, b: true, x: 4, y: 4, z: 0.1, l: [1, 'a'], d: { k: false } }, floats: ['/y'] },
    ];
    assert.equal(formatPythonCalls(c), `[mod.f(s="it's", n=None, b=True, x=4, y=4.0, z=0.1, l=[1, 'a'], d={'k': False})]`);
    assert.equal(pyFloatRepr(1e16), '1e+16');
    assert.equal(pyFloatRepr(1e-5), '1e-05');
    assert.equal(pyFloatRepr(123456.5), '123456.5');
    assert.equal(pyFloatRepr(-0), '-0.0');
    assert.equal(pyStrRepr('a\nb\u0000\u00e9\u2028'), "'a\\nb\\x00é\\u2028'");
  });

  it('OpenAI tool_calls carry arguments as JSON strings; ids kept or made', () => {
    const out = formatOpenAIToolCalls([{ id: 'c9', name: 'f', arguments: { a: 2 }, floats: ['/a'] }, { name: 'g', arguments: {} }]);
    assert.deepEqual(out, [
      { id: 'c9', type: 'function', function: { name: 'f', arguments: '{"a":2.0}' } },
      { id: 'call_1', type: 'function', function: { name: 'g', arguments: '{}' } },
    ]);
    assert.equal(formatJsonCalls([{ name: 'f', arguments: { a: 1 } }]), '[{"name":"f","arguments":{"a":1}}]');
  });

  it('round-trips through every format, int/float identity included (property)', () => {
    fc.assert(
      fc.property(toolCalls, (cs) => {
        for (const c of cs) ToolCallSchema.parse(c); // the bus schema accepts what the parsers produce
        const want = normalized(cs);
        assert.deepEqual(normalized(calls(parseHermes(formatHermes(cs, 'text')))), want, 'hermes');
        assert.deepEqual(normalized(calls(parseJsonCalls(formatJsonCalls(cs)))), want, 'json');
        assert.deepEqual(normalized(calls(parsePythonCalls(formatPythonCalls(cs)))), want, 'python');
        const oa = calls(parseOpenAIToolCalls(formatToolCalls(cs, 'openai')));
        assert.deepEqual(normalized(oa.map(({ id: _id, ...rest }) => rest)), want, 'openai');
      }),
      { numRuns: 400 },
    );
  });

  it('is deterministic: formatting twice gives the same bytes', () => {
    fc.assert(
      fc.property(toolCalls, (cs) => {
        const again = structuredClone(cs);
        assert.equal(formatHermes(cs), formatHermes(again));
        assert.equal(formatPythonCalls(cs), formatPythonCalls(again));
      }),
      { numRuns: 100 },
    );
  });
});
