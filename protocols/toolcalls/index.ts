/**
 * Tool calls in every format the field uses: parsing, formatting, exact numbers, ToolMatch.
 * See DESIGN.md §2.4 and the comments of each module.
 */
export {
  type ParseResult,
  type ToolCallFormat,
  parseHermes,
  parseOpenAIToolCalls,
  parsePythonCalls,
  parseJsonCalls,
  parseToolCalls,
  detectFormat,
  hasToolCallTag,
} from './parse.ts';
export {
  formatHermes,
  formatOpenAIToolCalls,
  formatPythonCalls,
  formatJsonCalls,
  formatToolCalls,
  callJson,
  type OpenAIToolCallOut,
} from './format.ts';
export { toolMatch, rewardFromText, sameCalls, sameLabel, callKey, type Reward } from './toolmatch.ts';
export { ParseFail, toParseError, type ParseErrorInfo } from './errors.ts';
export { parseJsonExact, readJsonExactAt, type ExactJsonOptions } from './json-exact.ts';
export { decodePythonCalls, bfclPromptingSlice, type ExactCall } from './python-calls.ts';
export { parsePythonExpression, type Node as PythonNode } from './python-syntax.ts';
export { unparse as unparsePython } from './python-unparse.ts';
export { exactToToolCall, toolCallToExact, pyToJson, jsonToPy, stringifyJson, argumentsJson } from './convert.ts';
export {
  PyFloat,
  PyTuple,
  PyDict,
  PyComplex,
  PyBytes,
  PySet,
  type PyVal,
  type PyInt,
  type PyTypeName,
  pyType,
  pyEq,
  pyIn,
  pyInt,
  pyRepr,
  pyStrRepr,
  pyFloatRepr,
  isHashable,
} from './pyvalue.ts';
