import { z } from 'zod';
import { LooptoolError } from '../../protocols/errors.ts';
import { bfclAnswers, joinAnswers, type Answer, type BfclAnswer } from '../../protocols/loop/answers.ts';
import { BfclItemRecord, EvalItemRecord, SampleRecord } from '../../protocols/loop/records.ts';
import { RunStore } from './store.ts';

/** The simulated held-out splits, answered each round. */
export const SIMULATED_SPLITS = ['test', 'validation'] as const;
export type SimulatedSplit = (typeof SIMULATED_SPLITS)[number];
/** Every split a run keeps answers of: the simulated ones, and BFCL v3 where loop.eval.bfcl is set. */
export const ANSWER_SPLITS = [...SIMULATED_SPLITS, 'bfcl'] as const;
export type AnswerSplit = (typeof ANSWER_SPLITS)[number];

const FILES: Record<SimulatedSplit, { samples: string; answers: (j: number | '<j>') => string }> = {
  test: { samples: 'round-0/test.jsonl', answers: (j) => `round-${j}/eval.jsonl` },
  validation: { samples: 'round-0/validation.jsonl', answers: (j) => `round-${j}/eval-validation.jsonl` },
};

// Only the setting that decides which label an answer was scored against; older runs'
// configs need not parse as today's whole RunConfig for that.
const ScoringConfig = z.object({ loop: z.object({ eval: z.object({ useTruth: z.boolean().default(true) }).default({ useTruth: true }) }).default({ eval: { useTruth: true } }) });

export type RunAnswers = { dir: string; round: number; rounds: number[]; split: SimulatedSplit; useTruth: boolean; answers: Answer[] };

/** The rounds of a run with answers on `split`, in order. */
export function answeredRounds(store: RunStore, split: SimulatedSplit): number[] {
  return store.rounds().filter((j) => store.exists(FILES[split].answers(j)));
}

/**
 * A run's answers of round `round` (its last evaluated round when not given) on `split`,
 * beside the split's samples, parsed and scored as the evaluation scored them.
 */
export function readAnswers(dir: string, split: SimulatedSplit, round?: number): RunAnswers {
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

const BFCL_FILE = (j: number | '<j>') => `round-${j}/eval-bfcl.jsonl`;

export type RunBfclAnswers = { dir: string; round: number; rounds: number[]; answers: BfclAnswer[] };

/** The rounds of a run with BFCL answers (loop.eval.bfcl), in order. */
export function bfclRounds(store: RunStore): number[] {
  return store.rounds().filter((j) => store.exists(BFCL_FILE(j)));
}

/** A run's BFCL v3 answers of round `round` (its last round with them when not given), with the checker's verdicts. */
export function readBfclAnswers(dir: string, round?: number): RunBfclAnswers {
  const store = new RunStore(dir);
  const rounds = bfclRounds(store);
  if (!rounds.length) throw new LooptoolError({ code: 'invalid_input', message: `${dir}: no round has BFCL answers (looked for ${BFCL_FILE('<j>')}; the run evaluates on BFCL when loop.eval.bfcl is set)` });
  const j = round ?? rounds[rounds.length - 1]!;
  if (!rounds.includes(j)) throw new LooptoolError({ code: 'invalid_input', message: `${dir}: round ${j} has no BFCL answers (rounds with them: ${rounds.join(', ')})` });
  return { dir, round: j, rounds, answers: bfclAnswers(store.read(BFCL_FILE(j), BfclItemRecord)) };
}

/** One round's answers on any split, with how they were scored, in words. */
export type SplitAnswers = { dir: string; round: number; rounds: number[]; split: AnswerSplit; scored: string; useTruth?: boolean; answers: (Answer | BfclAnswer)[] };

/** readAnswers or readBfclAnswers, by split: what `looptool answers` and the viewer's panel read. */
export function readSplitAnswers(dir: string, split: AnswerSplit, round?: number): SplitAnswers {
  if (split === 'bfcl') return { ...readBfclAnswers(dir, round), split, scored: "scored by the BFCL v3 leaderboard's checker (FC mode)" };
  const r = readAnswers(dir, split, round);
  return { ...r, scored: r.useTruth ? 'scored against the hidden true labels where the sample has one' : 'scored against the visible labels' };
}
