import { z } from 'zod';
import { LooptoolError } from '../../protocols/errors.ts';
import { joinAnswers, type Answer } from '../../protocols/loop/answers.ts';
import { EvalItemRecord, SampleRecord } from '../../protocols/loop/records.ts';
import { RunStore } from './store.ts';

export const ANSWER_SPLITS = ['test', 'validation'] as const;
export type AnswerSplit = (typeof ANSWER_SPLITS)[number];

const FILES: Record<AnswerSplit, { samples: string; answers: (j: number | '<j>') => string }> = {
  test: { samples: 'round-0/test.jsonl', answers: (j) => `round-${j}/eval.jsonl` },
  validation: { samples: 'round-0/validation.jsonl', answers: (j) => `round-${j}/eval-validation.jsonl` },
};

// Only the setting that decides which label an answer was scored against; older runs'
// configs need not parse as today's whole RunConfig for that.
const ScoringConfig = z.object({ loop: z.object({ eval: z.object({ useTruth: z.boolean().default(true) }).default({ useTruth: true }) }).default({ eval: { useTruth: true } }) });

export type RunAnswers = { dir: string; round: number; rounds: number[]; split: AnswerSplit; useTruth: boolean; answers: Answer[] };

/** The rounds of a run with answers on `split`, in order. */
export function answeredRounds(store: RunStore, split: AnswerSplit): number[] {
  return store.rounds().filter((j) => store.exists(FILES[split].answers(j)));
}

/**
 * A run's answers of round `round` (its last evaluated round when not given) on `split`,
 * beside the split's samples, parsed and scored as the evaluation scored them.
 */
export function readAnswers(dir: string, split: AnswerSplit, round?: number): RunAnswers {
  const store = new RunStore(dir);
  const rounds = answeredRounds(store, split);
  if (!rounds.length) throw new LooptoolError({ code: 'invalid_input', message: `${dir}: no round has answers on the ${split} split yet (looked for ${FILES[split].answers('<j>')})` });
  const j = round ?? rounds[rounds.length - 1]!;
  if (!rounds.includes(j)) throw new LooptoolError({ code: 'invalid_input', message: `${dir}: round ${j} has no answers on the ${split} split (rounds with answers: ${rounds.join(', ')})` });
  if (!store.exists(FILES[split].samples)) throw new LooptoolError({ code: 'invalid_input', message: `${dir}: ${FILES[split].samples} is missing, so the answers have no questions` });
  const useTruth = store.readJson('config.json', ScoringConfig).loop.eval.useTruth;
  const samples = store.read(FILES[split].samples, SampleRecord).map((r) => r.sample);
  const items = store.read(FILES[split].answers(j), EvalItemRecord).filter((i) => i.split === split);
  return { dir, round: j, rounds, split, useTruth, answers: joinAnswers(samples, items, useTruth) };
}
