import { ChatPromptTemplate } from '@langchain/core/prompts';

/**
 * The tool role's prompt (LoopTool round 0): after an assistant message with calls,
 * the tool returns a result per call, sometimes an error. One prompt per call; the
 * model plays the service behind the API. f-string template: literal braces doubled.
 */
export const EXECUTE_SYSTEM = `You simulate the backend service behind one API (a tool). You receive the tool's specification (with the shape of its result under "returns" when known) and one call. Return exactly what the real service would return.

Rules:
- If the call breaks the specification (a value of the wrong type, a value not among the enum values, a malformed date or time, a nonsensical value), return an error object, with "error": true.
- Otherwise return a realistic result for exactly these arguments, with "error": false. Follow "returns" when it is given. Lists hold 1 to {maxItems} records. Echo the arguments where a real service would (the city searched, the date booked). Identifiers, prices, names and times look real and consistent with each other.
- A real service sometimes fails for reasons outside the call (nothing found, sold out, unknown identifier). Return such an error only when the arguments make it plausible.
- An error result looks like {{"error": {{"code": "<short_code>", "message": "<what went wrong>"}}}}.

Reply with only one JSON object: {{"error": <true or false>, "result": <the service's JSON response>}}`;

export const executePrompt = ChatPromptTemplate.fromMessages([
  ['system', EXECUTE_SYSTEM],
  ['human', 'Tool specification:\n{tool}\n\nCall:\n{call}\n\nReturn the service response.'],
]);
