import { z } from 'zod';
import { describeIssues, formatIssues } from '../errors.ts';
import type { Category } from './categories.ts';
import { jsonLines } from './dataset.ts';

/**
 * BFCL v3 questions as a model sees them: the chat turn and the raw function docs. The
 * checker's dataset (dataset.ts) compiles docs for checking and drops the question text;
 * `eval bfcl run` needs the text and the docs as written, so they are read here, validated
 * at the file boundary. Only single-turn questions: multi-turn categories are out of scope.
 */

const QuestionMessage = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type QuestionMessage = z.infer<typeof QuestionMessage>;

const FunctionDoc = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
});
export type BfclFunctionDoc = z.infer<typeof FunctionDoc>;

const QuestionLine = z.object({
  id: z.string().min(1),
  question: z
    .array(z.array(QuestionMessage).min(1, 'expected at least one message'))
    .length(1, 'expected exactly one turn (multi-turn questions are out of scope)'),
  function: z.array(FunctionDoc).default([]),
});

export type BfclQuestion = {
  id: string;
  category: Category;
  messages: QuestionMessage[];
  functions: BfclFunctionDoc[];
};

/** Reads a question file; bad lines are reported (with their line number), never thrown. */
export function parseQuestions(category: Category, text: string): { questions: BfclQuestion[]; problems: string[] } {
  const questions: BfclQuestion[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const { line, text: t } of jsonLines(text)) {
    let raw: unknown;
    try {
      raw = JSON.parse(t);
    } catch (err) {
      problems.push(`questions line ${line}: not JSON (${(err as Error).message})`);
      continue;
    }
    const q = QuestionLine.safeParse(raw);
    if (!q.success) {
      problems.push(`questions line ${line}: ${formatIssues(describeIssues(q.error))}`);
      continue;
    }
    if (seen.has(q.data.id)) {
      problems.push(`questions line ${line}: duplicate id ${q.data.id}`);
      continue;
    }
    seen.add(q.data.id);
    questions.push({ id: q.data.id, category, messages: q.data.question[0]!, functions: q.data.function });
  }
  return { questions, problems };
}
