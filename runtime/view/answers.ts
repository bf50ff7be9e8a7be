import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { describeIssues, LooptoolError } from '../../protocols/errors.ts';
import { AnswerFilter, filterAnswers, MISS_TEXT, tallyAnswers, type Answer, type BfclAnswer, type GroupKey } from '../../protocols/loop/answers.ts';
import { ANSWER_SPLITS, readSplitAnswers } from '../loop/answers.ts';
import { FilterError } from './source.ts';

/**
 * `/api/answers`: one round's answers of the watched run (or of a sibling variant of its
 * demo or ablation) on a held-out split or BFCL, what `looptool answers` prints, for the
 * page's answers panel. A point clicked in the accuracy, skill or BFCL chart asks for its round.
 */

export const AnswersQuery = z.strictObject({
  run: z.string().optional().describe('the run the page watches; another than the one served has no answers here'),
  variant: z
    .string()
    .regex(/^(?!\.\.?$)[\w.-]+$/, 'a sibling run folder name')
    .optional()
    .describe('a sibling variant of the watched run (a demo or ablation folder), by its folder name'),
  round: z.coerce.number().int().min(0).optional().describe('the last evaluated round when absent'),
  split: z.enum(ANSWER_SPLITS).default('test'),
  skill: z.string().optional(),
  kind: z.string().optional(),
  category: z.string().optional().describe('a BFCL category (split=bfcl)'),
  outcome: AnswerFilter.shape.outcome.unwrap().default('wrong'),
  limit: z.coerce.number().int().min(1).max(2000).default(200),
  offset: z.coerce.number().int().min(0).default(0).describe('the answers before this one are left out: the next page starts here'),
});
export type AnswersQuery = z.infer<typeof AnswersQuery>;

export function parseAnswersQuery(params: URLSearchParams): AnswersQuery {
  const raw: Record<string, string> = {};
  for (const [k, v] of params) if (v !== '') raw[k] = v;
  const r = AnswersQuery.safeParse(raw);
  if (!r.success) throw new FilterError(describeIssues(r.error));
  return r.data;
}

export type ViewAnswers =
  | { available: false; reason: string }
  | {
      available: true;
      run: string;
      round: number;
      rounds: number[];
      split: string;
      scored: string;
      /** what answers are grouped by: skills, or BFCL's categories */
      groupKey: GroupKey;
      groups: string[];
      tally: ReturnType<typeof tallyAnswers>['all'];
      missText: typeof MISS_TEXT;
      matching: number;
      offset: number;
      answers: (Answer | BfclAnswer)[];
    };

/** The answers `q` asks for, of `dir` or its sibling `q.variant`; what is not there is said, not thrown. */
export function viewAnswers(dir: string, q: AnswersQuery): ViewAnswers {
  let target = dir;
  if (q.variant) {
    const parent = dirname(dir);
    target = join(parent, q.variant);
    if (existsSync(join(parent, 'manifest.json')) || !existsSync(join(target, 'manifest.json'))) return { available: false, reason: `no run "${q.variant}" beside this one` };
  }
  let read;
  try {
    read = readSplitAnswers(target, q.split, q.round);
  } catch (err) {
    // what the run does not have (yet) is an answer; anything else is the server's failure
    if (err instanceof LooptoolError) return { available: false, reason: err.message };
    throw err;
  }
  const subset = filterAnswers(read.answers, { skill: q.skill, kind: q.kind, category: q.category });
  const chosen = filterAnswers(subset, { outcome: q.outcome });
  const groupKey: GroupKey = q.split === 'bfcl' ? 'category' : 'skill';
  return {
    available: true,
    run: basename(target),
    round: read.round,
    rounds: read.rounds,
    split: read.split,
    scored: read.scored,
    groupKey,
    groups: [...new Set(read.answers.map((a) => (a as Partial<Record<GroupKey, string>>)[groupKey] ?? ''))].sort(),
    tally: tallyAnswers(subset, groupKey).all,
    missText: MISS_TEXT,
    matching: chosen.length,
    offset: q.offset,
    answers: chosen.slice(q.offset, q.offset + q.limit),
  };
}
