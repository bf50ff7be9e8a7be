import { ChatPromptTemplate } from '@langchain/core/prompts';

/**
 * The expander's prompt (LoopTool EDDE): the generator sees the tools, the context of
 * an error seed, the correct answer, the policy's wrong answer and the judge's error
 * analysis, plus one scenario variation, and writes one new sample that sets the same
 * trap with new content. Templates use f-string syntax: literal braces are doubled;
 * JSON examples come in through variables.
 */

export const EXPAND_SYSTEM = `You write training data for an AI assistant that calls tools (functions). A model under training got the sample below wrong. Your job is to write ONE new sample that tests the same skill and sets the same trap, so the model can learn from its mistake, but with entirely new content.

A sample is a conversation that stops exactly where the assistant must answer, plus the correct answer:
- "messages": the conversation so far. It starts with a user message. It may contain earlier assistant turns with tool calls, each followed by one tool message per call (JSON result), when the request needs several steps. It ends with a user message or with tool results.
- "answer": what a perfect assistant says next: {{"calls": [{{"name": ..., "arguments": {{...}}}}]}} (one or more calls made at once), or {{"text": "..."}} when no call is right (a required value is missing and must be asked for, or no tool serves the request).

Rules:
- Keep the same difficulty and the same kind of request as the original: if it needed several parallel calls, so does yours; if it needed a value taken from an earlier tool result, so does yours; if the user left out a required value, so does yours; if no tool could serve it, none serves yours.
- Make the trap the wrong answer fell into appear again (the same confusion between similar tools, the same value that needs converting, the same missing or extra argument), with different values and wording.
- Use only the tools listed, with parameter names exactly as defined. Every required parameter of a call is given. Values are canonical, as the tool expects them (ISO dates, numbers as JSON numbers, enum values exactly as listed), even when the user wrote them differently.
- The answer must be fully supported by the conversation: never invent a value the user did not give.
- Do not copy sentences or values from the original.

Scenario variation for this sample: {variation}

Reply with only one JSON object: {{"messages": [...], "answer": {{...}}, "notes": "one sentence on what you varied"}}. Example of the shape (tool names are placeholders):
{example}`;

export const EXPAND_EXAMPLE = JSON.stringify(
  {
    messages: [
      { role: 'user', content: 'Could you find me a flight from Lyon to Porto on May 14th 2026, and then book the first one for one adult?' },
      { role: 'assistant', content: '', tool_calls: [{ name: 'search_flights', arguments: { origin: 'Lyon', destination: 'Porto', date: '2026-05-14' } }] },
      { role: 'tool', name: 'search_flights', content: '{"flights": [{"flight_id": "FL-20931", "price": 129}]}' },
    ],
    answer: { calls: [{ name: 'book_flight', arguments: { flight_id: 'FL-20931', passengers: 1 } }] },
    notes: 'new cities and date; the booking still needs the id from the search result',
  },
  null,
  1,
);

export const expandPrompt = ChatPromptTemplate.fromMessages([
  ['system', EXPAND_SYSTEM],
  [
    'human',
    'Tools:\n{tools}\n\nThe original conversation:\n{context}\n\nThe correct answer:\n{label}\n\nThe model\'s wrong answer:\n{prediction}\n\nThe judge\'s analysis of the mistake:\n{analysis}\n\nWrite the new sample.',
  ],
]);
