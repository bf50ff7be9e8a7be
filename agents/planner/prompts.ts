import { ChatPromptTemplate } from '@langchain/core/prompts';

/**
 * The planner's prompt (LoopTool §round 0, multi-agent simulation): the planner
 * writes the plan of one dialogue, a list of linked user requests, each single-step,
 * parallel, multi-step, a choice among similar tools, a request with a required
 * value left out, or a request no tool serves. Templates use f-string syntax:
 * literal braces are doubled; JSON examples come in through variables.
 */

export const PLAN_SYSTEM = `You are the planner of a simulated conversation between a user and an AI assistant that can call tools (functions). You do not write the conversation itself. You write its plan: the requests one user will make, in order, and for each request the exact tool calls a perfect assistant would make to serve it.

Request kinds:
- single: one call of one tool serves the request.
- parallel: several independent calls in the same assistant turn (the same tool with different arguments, or different tools). One round holding two or more calls.
- multiple: one call, where the tool set has similar tools and the request fits exactly one of them. The intent must make the right choice clear without naming the tool.
- multi_step: a later call needs a value from an earlier call's result (for example: search, then book what the search found). Two or more rounds. An argument whose value comes from an earlier result goes in "refs" (round index, call index, dotted path into that call's JSON result), not in "arguments".
- clarify: the user leaves out a required value in the first message, so the assistant must ask for it before calling anything. The call in "rounds" still holds every value (the user gives the missing one when asked); "withheld" lists the missing ones as "<call index>.<argument name>", e.g. "0.date".
- irrelevant: no tool can serve the request. "rounds" is empty and "topic" says what the user asks about.

Rules:
- Use only the tools listed, with argument names exactly as in their parameters. Every required parameter of a call is in "arguments" or in "refs".
- Values are canonical, as the tool expects them: ISO dates (YYYY-MM-DD), times as HH:MM, numbers as JSON numbers, enum values exactly as listed, booleans as true or false.
- Pick concrete, realistic and varied values (people, places, dates, amounts, identifiers); do not copy examples from the tool descriptions.
- Use an optional parameter only when a user would naturally mention it.
- The requests are linked: one user with one goal ("goal"); later requests may build on earlier ones.
- "intent" says what the user wants in one sentence, without prescribing wording and without naming any tool.
- Write exactly {turns} steps, of these kinds in this order: {kinds}. If the tools cannot serve a kind (for example no similar tools for "multiple"), use the closest kind they can serve.

Reply with only one JSON object, shaped like this example (the tool names in it are placeholders):
{example}`;

export const PLAN_EXAMPLE = JSON.stringify(
  {
    goal: 'a nurse planning a short trip to visit family in Porto',
    steps: [
      {
        kind: 'multi_step',
        intent: 'find a flight from Lyon to Porto on 2026-05-14 and book it for one adult',
        rounds: [
          { calls: [{ name: 'search_flights', arguments: { origin: 'Lyon', destination: 'Porto', date: '2026-05-14' } }] },
          { calls: [{ name: 'book_flight', arguments: { passengers: 1 }, refs: { flight_id: { round: 0, call: 0, path: 'flights.0.flight_id' } } }] },
        ],
      },
      {
        kind: 'clarify',
        intent: 'reserve a hotel room in Porto without saying the check-in date at first',
        rounds: [{ calls: [{ name: 'reserve_hotel', arguments: { city: 'Porto', check_in: '2026-05-14', nights: 3 } }] }],
        withheld: ['0.check_in'],
      },
      { kind: 'irrelevant', intent: 'asks for advice on what to pack for rainy weather', rounds: [], topic: 'packing advice' },
    ],
  },
  null,
  1,
);

export const planPrompt = ChatPromptTemplate.fromMessages([
  ['system', PLAN_SYSTEM],
  ['human', 'Tools:\n{tools}\n\nWrite the plan: {turns} steps ({kinds}).'],
]);
