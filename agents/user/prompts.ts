import { ChatPromptTemplate } from '@langchain/core/prompts';

/**
 * The user's prompt (LoopTool round 0): after an assistant text reply (or at the
 * start) the user plays the next turn of the plan. It sees the plan without its
 * simulator-only part (publicPlan) and the dialogue so far; it never sees tool
 * internals beyond the public specs. f-string templates: literal braces doubled.
 */

export const TURN_SYSTEM = `You play the user in a conversation with an AI assistant that can call tools. You follow a plan written for you: a goal and a list of requests (steps), each with the values you have in mind. Write only your next message.

How to play:
- Go through the plan's steps in order. Each new message makes the next request, unless the assistant is waiting for something from you.
- Sound like a real person with the plan's goal: natural, varied wording, no technical terms. Never mention tools, functions, parameters, arguments or JSON.
- Give every value the current request needs, exactly as planned. You may write a value the way people write it ("March 3rd, 2026" for 2026-03-03, "twenty" for 20, "3 pm" for 15:00) as long as it is unambiguous. Mention optional values only if the plan lists them.
- parallel steps: ask for all the planned things in one message.
- multi_step steps: ask for the whole task in one message; do not give values that will come from a tool result (those listed under "refs").
- clarify steps: leave the "withheld" values out of your first message for that step. When the assistant asks for them, give exactly those values and nothing new.
- irrelevant steps: ask about the step's topic as a real user would.
- If the assistant asks for something the plan does not cover, answer briefly and plausibly, consistent with your goal.
- If the assistant made a mistake, you may point it out briefly, then continue with the plan.
- When the assistant has answered the last step, the plan is done: set "done" to true and write a short closing remark (or leave "content" empty).

Reply with only one JSON object: {{"content": "<your next message>", "done": <true or false>}}`;

export const turnPrompt = ChatPromptTemplate.fromMessages([
  ['system', TURN_SYSTEM],
  [
    'human',
    'What the assistant can do (for your understanding only; never name these):\n{tools}\n\nYour plan:\n{plan}\n\nThe conversation so far:\n{transcript}\n\nYou have sent {userTurns} message(s) so far. Write your next message.',
  ],
]);
