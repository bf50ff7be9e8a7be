import { ChatPromptTemplate } from '@langchain/core/prompts';

/**
 * The API designer's prompt (LoopTool round 0, API synthesis): one root-to-leaf
 * path of the context tree (domain → sub-domain → function intent) merged with one
 * path of the constraint tree (naming, parameter count, parameter types, output
 * format, description style) becomes one tool spec, written by the model.
 * f-string template: literal braces doubled; the example comes in as a variable.
 */
export const DESIGN_SYSTEM = `You design APIs for a tool-calling benchmark. Given a function intent from a domain and a list of design constraints, you write the specification of one tool (function) in OpenAI function-calling form, as a real API provider would publish it.

Rules:
- "name": the intent as a function name (verb and object), in the required naming style. Every parameter name, nested property name and result field name uses the same style.
- "description": says what the tool does, in the required description style.
- "parameters": a JSON Schema object: {{"type": "object", "properties": {{...}}, "required": [...]}}. Every property has a "type" (string, number, integer, boolean, array or object) and a "description". Arrays have "items"; objects have "properties". Use "enum" for closed sets of values and "format" (date, time, date-time, email, uri) where it applies. "required" lists only properties that exist.
- Use the intent's parameters (you may rename them to fit the style, but keep their meaning); required ones stay required. Respect the parameter count and parameter types constraints.
- "returns": a JSON Schema of the result, following the output format constraint and using the listed result fields.
- Do not copy the example's content; it only shows the form.

Reply with only one JSON object shaped like this example:
{example}`;

export const DESIGN_EXAMPLE = JSON.stringify(
  {
    name: 'get_pharmacy_hours',
    description: 'Get the opening hours of a pharmacy on a given date.',
    parameters: {
      type: 'object',
      properties: {
        pharmacy_id: { type: 'string', description: 'Identifier of the pharmacy, e.g. "PH-2231".' },
        date: { type: 'string', format: 'date', description: 'Day to check, YYYY-MM-DD.' },
      },
      required: ['pharmacy_id'],
    },
    returns: {
      type: 'object',
      properties: { pharmacy_id: { type: 'string' }, opens_at: { type: 'string', format: 'time' }, closes_at: { type: 'string', format: 'time' } },
    },
  },
  null,
  1,
);

export const designPrompt = ChatPromptTemplate.fromMessages([
  ['system', DESIGN_SYSTEM],
  ['human', 'Context path: {context}\n\nFunction intent:\n{intent}\n\nConstraints:\n{constraints}\n\nWrite the tool specification.'],
]);
