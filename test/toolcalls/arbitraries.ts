import fc from 'fast-check';
import type { ToolCall } from '../../protocols/toolcall.ts';
import { PyDict, PyFloat, type PyVal, exactToToolCall } from '../../protocols/toolcalls/index.ts';

/** Random tool calls for property tests, built from exact values so that some carry integral floats. */

const PY_KEYWORDS = new Set([
  'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif', 'else', 'except',
  'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise',
  'return', 'try', 'while', 'with', 'yield',
]);

/** A Python identifier (argument names must be, for the Python-call format). */
export const identifier = fc.stringMatching(/^[a-z_][a-z0-9_]{0,7}$/).filter((s) => !PY_KEYWORDS.has(s));

export const functionName = fc
  .tuple(identifier, fc.option(identifier, { nil: undefined }))
  .map(([a, b]) => (b ? `${a}.${b}` : a));

const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => Number.isFinite(x));

export const leaf: fc.Arbitrary<PyVal> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.maxSafeInteger(),
  finiteDouble.map((x) => new PyFloat(x)),
  fc.integer({ min: -1000, max: 1000 }).map((x) => new PyFloat(x)), // integral floats: 4.0
  fc.boolean(),
  fc.constant(null),
);

export const value: fc.Arbitrary<PyVal> = fc.letrec<{ v: PyVal }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 4 }).map((o) => PyDict.from(Object.entries(o))),
  ),
})).v;

export const toolCall: fc.Arbitrary<ToolCall> = fc
  .tuple(functionName, fc.dictionary(identifier, value, { maxKeys: 5 }))
  .map(([name, args]) => exactToToolCall({ name, args: PyDict.from(Object.entries(args)) }));

export const toolCalls = fc.array(toolCall, { minLength: 1, maxLength: 4 });
