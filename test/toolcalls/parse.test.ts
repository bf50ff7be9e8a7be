import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  PyDict,
  PyFloat,
  PyTuple,
  detectFormat,
  parseHermes,
  parseJsonCalls,
  parseJsonExact,
  parseOpenAIToolCalls,
  parsePythonCalls,
  parseToolCalls,
  type ParseResult,
} from '../../protocols/toolcalls/index.ts';

function ok(r: ParseResult) {
  if (!r.ok) assert.fail(`expected a parse, got error: ${r.error.message} (pos ${r.error.pos})`);
  return r;
}

function err(r: ParseResult) {
  if (r.ok) assert.fail(`expected a parse error, got ${JSON.stringify(r.calls)}`);
  return r.error;
}

describe('exact JSON numbers', () => {
  it('keeps int and float apart, big ints exact', () => {
    const v = parseJsonExact('{"a": 4, "b": 4.0, "c": 1e2, "d": -0, "e": 12345678901234567890, "f": [1, 2.5]}') as PyDict;
    assert.equal(v.get('a'), 4);
    assert.ok(v.get('b') instanceof PyFloat && (v.get('b') as PyFloat).v === 4);
    assert.ok(v.get('c') instanceof PyFloat && (v.get('c') as PyFloat).v === 100);
    assert.equal(v.get('d'), 0);
    assert.equal(v.get('e'), 12345678901234567890n);
    assert.equal((v.get('f') as unknown[])[0], 1);
  });

  it('duplicate keys: last value, first position (as json.loads)', () => {
    const v = parseJsonExact('{"a": 1, "b": 2, "a": 3}') as PyDict;
    assert.deepEqual(v.keys, ['a', 'b']);
    assert.deepEqual(v.vals, [3, 2]);
  });

  it('reports the position of malformed input', () => {
    assert.throws(() => parseJsonExact('{"a": 01}'), (e: Error & { pos?: number }) => e.pos === 7);
    assert.throws(() => parseJsonExact('[1, 2'), /unterminated array/);
    assert.throws(() => parseJsonExact('NaN'));
    assert.ok(parseJsonExact('NaN', { allowNonFinite: true }) instanceof PyFloat);
  });
});

describe('Hermes / Qwen <tool_call> blocks', () => {
  it('one block per call, several blocks are parallel calls, whitespace tolerated', () => {
    const r = ok(
      parseHermes(
        'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n' +
          '<tool_call>{"name":"get_time","arguments":{"tz":"CET"}}</tool_call>  \n',
      ),
    );
    assert.deepEqual(r.calls, [
      { name: 'get_weather', arguments: { city: 'Paris' } },
      { name: 'get_time', arguments: { tz: 'CET' } },
    ]);
    assert.equal(r.content, 'Let me check.');
  });

  it('text inside <think> never counts, and a leading </think> closes a prompt-opened thought', () => {
    const r = ok(parseHermes('<think>maybe <tool_call>{"name":"x","arguments":{}}</tool_call></think>\nNo tool fits.'));
    assert.deepEqual(r.calls, []);
    assert.equal(r.content, 'No tool fits.');
    const r2 = ok(parseHermes('I think so </think><tool_call>{"name":"f","arguments":{"a":1}}</tool_call>'));
    assert.deepEqual(r2.calls, [{ name: 'f', arguments: { a: 1 } }]);
    assert.equal(r2.content, '');
  });

  it('a closing tag inside a JSON string does not end the block', () => {
    const r = ok(parseHermes('<tool_call>{"name":"echo","arguments":{"text":"</tool_call> <think>"}}</tool_call>'));
    assert.deepEqual(r.calls[0].arguments, { text: '</tool_call> <think>' });
  });

  it('keeps 4.0 a float through ToolCall.floats', () => {
    const r = ok(parseHermes('<tool_call>{"name":"f","arguments":{"x":4.0,"y":4,"z":[1.0,{"w":2.0}],"s":"4.0"}}</tool_call>'));
    assert.deepEqual(r.calls[0], { name: 'f', arguments: { x: 4, y: 4, z: [1, { w: 2 }], s: '4.0' }, floats: ['/x', '/z/0', '/z/1/w'] });
  });

  it('malformed input: an error with its position, never an exception', () => {
    assert.equal(err(parseHermes('<tool_call>{"name":"f","arguments":{}}')).pos, 0);
    assert.equal(err(parseHermes('ok </tool_call>')).pos, 3);
    assert.equal(err(parseHermes('<tool_call>{"name":"f","arguments":{"a":tru}}</tool_call>')).pos, 40);
    assert.match(err(parseHermes('<tool_call>{"name":"f","arguments":[1]}</tool_call>')).message, /"arguments" must be a JSON object, got list/);
    assert.match(err(parseHermes('<tool_call>{"name":"f"}</tool_call>')).message, /missing/);
    assert.match(err(parseHermes('<tool_call>{"name":"","arguments":{}}</tool_call>')).message, /non-empty string/);
    assert.match(err(parseHermes('<tool_call>{"name":"f","arguments":{},"id":1}</tool_call>')).message, /unexpected key "id"/);
    assert.match(err(parseHermes('<tool_call>{"name":"f","arguments":{}} {"name":"g","arguments":{}}</tool_call>')).message, /expected <\/tool_call>/);
    assert.equal(err(parseHermes('a <think> unfinished')).pos, 2);
    assert.equal(err(parseHermes('<tool_call>\n</tool_call>')).pos, 0);
  });

  it('never throws, whatever the text (property)', () => {
    const piece = fc.oneof(
      fc.constantFrom('<tool_call>', '</tool_call>', '<think>', '</think>', '{"name":"f","arguments":{"a":1}}', '{', '}', '"', '\n', ' '),
      fc.string({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const r = parseHermes(parts.join(''));
        if (!r.ok) assert.ok(Number.isInteger(r.error.pos) && r.error.message.length > 0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('OpenAI tool_calls', () => {
  const msg = {
    role: 'assistant',
    content: null,
    tool_calls: [
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris", "days": 3.0}' } },
      { id: 'call_2', type: 'function', function: { name: 'now', arguments: '' } },
    ],
  };

  it('reads arguments from JSON strings, from a message, an array, or their JSON text', () => {
    const expected = [
      { id: 'call_1', name: 'get_weather', arguments: { city: 'Paris', days: 3 }, floats: ['/days'] },
      { id: 'call_2', name: 'now', arguments: {} },
    ];
    assert.deepEqual(ok(parseOpenAIToolCalls(msg)).calls, expected);
    assert.deepEqual(ok(parseOpenAIToolCalls(msg.tool_calls)).calls, expected);
    assert.deepEqual(ok(parseOpenAIToolCalls(JSON.stringify(msg))).calls, expected);
    assert.equal(ok(parseOpenAIToolCalls({ role: 'assistant', content: ' Hi ', tool_calls: [] })).content, 'Hi');
  });

  it('rejects bad arguments with a message naming the call', () => {
    const bad = [{ type: 'function', function: { name: 'f', arguments: '{"a": ' } }];
    assert.match(err(parseOpenAIToolCalls(bad)).message, /tool_calls\[0\]\.function\.arguments is not valid JSON/);
    assert.match(err(parseOpenAIToolCalls([{ type: 'function', function: { name: 'f', arguments: '[1]' } }])).message, /must be a JSON object/);
    assert.match(err(parseOpenAIToolCalls([{ type: 'tool' }])).message, /type must be "function"/);
    assert.match(err(parseOpenAIToolCalls('{"tool_calls": 3}')).message, /must be an array/);
    assert.ok(!parseOpenAIToolCalls('not json').ok);
  });
});

describe("BFCL's Python-call syntax", () => {
  it('decodes with Python literal semantics', () => {
    const r = ok(
      parsePythonCalls(
        `[func(a=1, b='x', c=4.0, d=-2, e=-2.5, f=True, g=None, h="dq", i=[1, [2, 3]], j={'k': 1.5, "n": [True]}), mod.func2(c=[1, 2])]`,
      ),
    );
    assert.deepEqual(r.calls, [
      {
        name: 'func',
        arguments: { a: 1, b: 'x', c: 4, d: -2, e: -2.5, f: true, g: null, h: 'dq', i: [1, [2, 3]], j: { k: 1.5, n: [true] } },
        floats: ['/c'],
      },
      { name: 'mod.func2', arguments: { c: [1, 2] } },
    ]);
  });

  it('reproduces the BFCL v3 decoder quirks', () => {
    const one = (src: string) => ok(parsePythonCalls(src)).calls[0];
    assert.deepEqual(one('f(a=+5)').arguments, { a: -5 }, 'unary plus acts as minus');
    assert.deepEqual(one('f(1, 2, a=1)').arguments, { a: 1 }, 'positional arguments dropped');
    assert.deepEqual(one('f(unit=units)').arguments, { unit: 'units' }, 'bare name -> string');
    assert.deepEqual(one('f(a=g(1,  2))').arguments, { a: 'g(1, 2)' }, 'call without kwargs -> source text');
    assert.deepEqual(one('f(a=g(x=1))').arguments, { a: { g: { x: 1 } } }, 'call with kwargs -> {name: kwargs}');
    assert.deepEqual(one('f(a=2*3, b=10/4, c=7//2)').arguments, { a: 6, b: 2.5, c: 3 }, 'binary operations evaluated');
    assert.deepEqual(one('f(a=x[1:2])').arguments, { a: 'x[1:2]' }, 'subscript -> source text');
    assert.deepEqual(one('f(a=...)').arguments, { a: '...' });
    assert.deepEqual(one("'[f(a=1)]'").arguments, { a: 1 }, 'strip("[]\'")');
    assert.deepEqual(one('```\n[f(a=1)]\n```').arguments, { a: 1 }, 'strip("`\\n ")');
    assert.deepEqual(one('f(a=1, a=2)').arguments, { a: 2 }, 'repeated keyword: last wins');
    assert.equal(one('a.b.c(x=1)').name, 'a.b.c');
  });

  it('tuples are tuples in exact values (arrays in ToolCall JSON); int and float stay distinct', async () => {
    const { decodePythonCalls } = await import('../../protocols/toolcalls/index.ts');
    const [c] = decodePythonCalls("f(t=(1, 2.0), l=[1, 2.0], n=4, x=4.0, y=1e3, z=0x10, big=12345678901234567890)");
    const v = (k: string) => c.args.get(k);
    assert.ok(v('t') instanceof PyTuple);
    assert.ok(Array.isArray(v('l')));
    assert.equal(v('n'), 4);
    assert.ok(v('x') instanceof PyFloat);
    assert.ok(v('y') instanceof PyFloat);
    assert.equal(v('z'), 16);
    assert.equal(v('big'), 12345678901234567890n);
    assert.deepEqual(ok(parsePythonCalls('f(t=(1, 2))')).calls[0].arguments, { t: [1, 2] });
  });

  it('malformed input gives a parse error with its position', () => {
    assert.equal(err(parsePythonCalls('[f(a=1, b=)]')).pos, 10);
    assert.equal(err(parsePythonCalls('f(a=1')).pos, 5);
    assert.equal(err(parsePythonCalls("f(a='x)")).pos, 4);
    assert.match(err(parsePythonCalls('f(a=1, 2)')).message, /positional argument follows keyword argument/);
    assert.match(err(parsePythonCalls('Sure! The answer is 42.')).message, /invalid character "!" at 4/);
    assert.match(err(parsePythonCalls('The answer is 42.')).message, /invalid syntax/);
    assert.match(err(parsePythonCalls('[f(a=1), 3]')).message, /expected a function call/);
    assert.match(err(parsePythonCalls('f(a=lambda x: x)')).message, /lambda/);
    assert.match(err(parsePythonCalls('f(**k)')).message, /"\*\*" arguments/);
    assert.match(err(parsePythonCalls('f(a=12345678901234567890)')).message, /too large/);
    assert.match(err(parsePythonCalls('f(a=1e999)')).message, /cannot be written as JSON/);
  });

  it('never throws (property)', () => {
    const piece = fc.oneof(fc.constantFrom('f(', ')', '[', ']', 'a=', '1', '4.0', "'x'", ',', '=', '-', '**', '{', '}', ':', 'lambda', '\n', '\\'), fc.string({ maxLength: 4 }));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }), (parts) => {
        const r = parsePythonCalls(parts.join(''));
        if (!r.ok) assert.ok(Number.isInteger(r.error.pos));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('plain JSON and detection', () => {
  it('one call or a list; "parameters" and string arguments accepted', () => {
    assert.deepEqual(ok(parseJsonCalls('{"name": "f", "arguments": {"a": 1}}')).calls, [{ name: 'f', arguments: { a: 1 } }]);
    assert.deepEqual(ok(parseJsonCalls('[{"name": "f", "parameters": {"a": 1.0}}, {"name": "g", "arguments": "{\\"b\\": 2}"}]')).calls, [
      { name: 'f', arguments: { a: 1 }, floats: ['/a'] },
      { name: 'g', arguments: { b: 2 } },
    ]);
    assert.match(err(parseJsonCalls('[1]')).message, /must be an object/);
  });

  it('parseToolCalls picks the format from the text', () => {
    assert.equal(detectFormat('<tool_call>{"name":"f","arguments":{}}</tool_call>'), 'hermes');
    assert.equal(detectFormat('[{"name":"f","arguments":{}}]'), 'json');
    assert.equal(detectFormat('[{"type":"function","function":{"name":"f","arguments":"{}"}}]'), 'openai');
    assert.equal(detectFormat('[f(a=1)]'), 'python');
    assert.equal(detectFormat('get_weather(city="Paris")'), 'python');
    assert.equal(detectFormat('Just an answer.'), 'hermes');
    assert.deepEqual(ok(parseToolCalls('[f(a=1)]')).calls, [{ name: 'f', arguments: { a: 1 } }]);
    assert.deepEqual(ok(parseToolCalls('Just an answer.')), { ok: true, calls: [], content: 'Just an answer.' });
    assert.deepEqual(ok(parseToolCalls('{"name":"f","arguments":{}}', 'json')).calls, [{ name: 'f', arguments: {} }]);
  });
});
