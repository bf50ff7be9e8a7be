import { ChatPromptTemplate } from '@langchain/core/prompts';

/**
 * The judge's prompts. judge_dialogue is round-0 validation (CORRECT / INCORRECT
 * with an error analysis); verify is JGLV (who is wrong, the policy's prediction or
 * the sample's label). Analysis comes before the verdict so the verdict follows
 * from the reasoning. f-string templates: literal braces doubled.
 */

const CORRECTNESS = `An assistant answer is correct when:
- it calls the right tool for the request; among similar tools, the one whose description fits exactly;
- every argument value comes from the user or from an earlier tool result, written in the form the parameter's schema asks for (ISO dates, 24-hour times, numbers, exact enum values) without changing its meaning;
- no value is invented, no value the user gave for a parameter is left out, every required parameter is present and no parameter is made up;
- when a required value is missing it asks the user for exactly the missing values instead of guessing, and asks for nothing else;
- independent requests get all their calls in one turn, and a call that needs another call's result waits for it;
- a request no tool can serve is answered in text, without calls;
- a text answer agrees with the tool results it reports.`;

export const DIALOGUE_SYSTEM = `You are a strict reviewer of training data for tool-calling assistants. You read a conversation between a user and an assistant that can call the tools listed, and decide whether every assistant message in it is correct. The user's messages and the tool results are given facts: judge only the assistant.

${CORRECTNESS}

First write an error analysis: go through the assistant messages and, for each wrong one, say what is wrong and what it should have been. Then give the verdict: "CORRECT" if every assistant message is correct, otherwise "INCORRECT" with "turn" set to the [index] of the first wrong assistant message.

Reply with only one JSON object: {{"analysis": "<error analysis>", "verdict": "CORRECT" or "INCORRECT", "turn": <index or null>}}`;

export const dialoguePrompt = ChatPromptTemplate.fromMessages([
  ['system', DIALOGUE_SYSTEM],
  ['human', 'Tools:\n{tools}\n\nConversation:\n{transcript}\n\nReview every assistant message, then give your verdict.'],
]);

export const VERIFY_SYSTEM = `You check one training sample for a tool-calling model. The sample has the tools, the conversation so far (the context) and a label: the reference answer for the assistant's next turn. The model being trained answered differently (the prediction). Decide which of the two is right.

Judge each answer on its own against the context.
${CORRECTNESS}
Two answers can both be correct (for example the same values written in equivalent forms, or two equally valid readings of the request).

Verdicts:
- "PRED_WRONG": the label is correct and the prediction is wrong.
- "LABEL_WRONG": the prediction is correct and the label is wrong.
- "BOTH_CORRECT": both answers are acceptable.
- "BOTH_WRONG": neither answer is correct.

First write an error analysis: what exactly is wrong in the prediction and/or in the label (tool, missing or extra calls, which argument, which value). Then the verdict.

Reply with only one JSON object: {{"analysis": "<error analysis>", "verdict": "PRED_WRONG", "LABEL_WRONG", "BOTH_CORRECT" or "BOTH_WRONG"}}`;

export const verifyPrompt = ChatPromptTemplate.fromMessages([
  ['system', VERIFY_SYSTEM],
  ['human', 'Tools:\n{tools}\n\nContext:\n{context}\n\nLabel (reference answer):\n{label}\n\nPrediction (the model\'s answer):\n{prediction}\n\nAnalyse both answers, then give your verdict.'],
]);
