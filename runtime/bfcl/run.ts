import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { type BfclQuestion, type Category, type CheckMode, parseQuestions, questionFile, resultFromAnswer, resultLine } from '../../protocols/bfcl/index.ts';
import { type Answerer, QuestionRejected } from './answerers.ts';
import { ResultFile, checkRunRecord, lockDir } from './result-file.ts';
import { forEachLimit } from '../concurrency.ts';

/**
 * `eval bfcl run`, answering part: asks an answerer every question not yet in the results
 * directory, `concurrency` at a time, and appends each answer to its category's result
 * file as soon as it arrives. A failure of the endpoint (after the client's own retries)
 * stops the run: in-flight questions are abandoned, everything written stays, and the
 * next run picks up where this one stopped.
 */

export type RunOptions = {
  answerer: Answerer;
  /** Recorded in the results directory; a resume with another model or mode is refused. */
  modelLabel: string;
  mode: CheckMode;
  categories: Category[];
  /** first N questions per category */
  limit?: number;
  outDir: string;
  dataDir: string;
  concurrency: number;
  signal?: AbortSignal;
  /** Once the questions are loaded, before the first is asked: how many this run has to ask. */
  onStart?: (toAsk: number) => void;
  /** After every written answer: answers so far in this run, and how many this run has to ask. */
  onAnswer?: (done: number, toAsk: number) => void;
  /** How often written lines are flushed to the disk (ms). */
  syncEveryMs?: number;
};

export type RunOutcome = {
  /** questions in the evaluated subset, over all categories */
  questions: number;
  /** answered before this run started (resume) */
  skipped: number;
  /** asked and written by this run */
  answered: number;
  rejected: { id: string; reason: string }[];
  /** answering time (loading and scoring not included) */
  seconds: number;
  /** why the run stopped early (endpoint down, interrupted); undefined when it finished */
  stopped?: unknown;
  interrupted: boolean;
  files: Map<Category, string>;
  /** the evaluated ids per category (the first N with --limit) */
  subset: Map<Category, Set<string>>;
  problems: string[];
};

export function resultFileName(category: Category): string {
  return `BFCL_v3_${category}_result.json`;
}

/** The questions of one category (the first `limit`), with the data problems found. */
export function loadQuestions(dataDir: string, category: Category, limit?: number): { questions: BfclQuestion[]; problems: string[] } {
  const path = join(dataDir, questionFile(category));
  if (!existsSync(path)) throw new Error(`missing BFCL question file ${path} (use --data DIR or LOOPTOOL_BFCL_DIR)`);
  const r = parseQuestions(category, readFileSync(path, 'utf8'));
  return { questions: limit === undefined ? r.questions : r.questions.slice(0, limit), problems: r.problems.map((p) => `${category}: ${p}`) };
}

// An endpoint that refuses the first few requests outright refuses them all (a wrong
// route, tools it cannot take): stop instead of writing nothing for an hour.
const REJECTIONS_BEFORE_GIVING_UP = 8;

export async function runBfcl(o: RunOptions): Promise<RunOutcome> {
  mkdirSync(o.outDir, { recursive: true });
  const unlock = lockDir(o.outDir);
  const files = new Map<Category, ResultFile>();
  const subset = new Map<Category, Set<string>>();
  const problems: string[] = [];
  const pending: BfclQuestion[] = [];
  let questions = 0;
  let skipped = 0;
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(o.signal!.reason);
  // Every request in flight listens on this signal (the SDK and the limiter each add one).
  setMaxListeners(0, abort.signal);
  let timer: NodeJS.Timeout | undefined;
  let t0 = performance.now();
  let answered = 0;
  const rejected: { id: string; reason: string }[] = [];
  let stopped: unknown;
  try {
    checkRunRecord(o.outDir, { mode: o.mode, model: o.modelLabel });
    for (const cat of o.categories) {
      const { questions: qs, problems: p } = loadQuestions(o.dataDir, cat, o.limit);
      problems.push(...p);
      const file = new ResultFile(join(o.outDir, resultFileName(cat)));
      if (file.repairedBytes) problems.push(`${cat}: dropped a torn last line (${file.repairedBytes} bytes) left by a crash`);
      files.set(cat, file);
      subset.set(cat, new Set(qs.map((q) => q.id)));
      questions += qs.length;
      for (const q of qs) {
        if (file.answered.has(q.id)) skipped++;
        else pending.push(q);
      }
    }

    if (o.signal?.aborted) abort.abort(o.signal.reason);
    o.signal?.addEventListener('abort', onOuterAbort, { once: true });
    timer = setInterval(() => void Promise.all([...files.values()].map((f) => f.sync())).catch(() => {}), o.syncEveryMs ?? 1000);

    o.onStart?.(pending.length);
    t0 = performance.now();
    const answer = async (q: (typeof pending)[number]): Promise<void> => {
      let raw;
      try {
        raw = await o.answerer.answer(q, o.mode, abort.signal);
      } catch (err) {
        // Aborted: interrupted, or another lane hit the failure that stops the run.
        if (abort.signal.aborted) return;
        if (err instanceof QuestionRejected) {
          rejected.push({ id: q.id, reason: err.message });
          if (answered === 0 && rejected.length >= REJECTIONS_BEFORE_GIVING_UP) {
            stopped = new Error(`the endpoint refused the first ${rejected.length} questions; the last said: ${err.message}`);
            abort.abort(stopped);
          }
          return;
        }
        stopped = err;
        abort.abort(err);
        return;
      }
      // An answer that arrived is written even if the run is stopping: it is a real answer.
      files.get(q.category)!.append(q.id, resultLine(q.id, resultFromAnswer(o.mode, raw)));
      answered++;
      o.onAnswer?.(answered, pending.length);
    };
    // failures stop the run through `abort` (so answers in flight are cut at once), never by throwing
    await forEachLimit(pending, o.concurrency, answer, { signal: abort.signal });
  } finally {
    clearInterval(timer);
    o.signal?.removeEventListener('abort', onOuterAbort);
    for (const f of files.values()) await f.close();
    unlock();
  }
  const interrupted = stopped === undefined && abort.signal.aborted;
  return {
    questions,
    skipped,
    answered,
    rejected,
    seconds: (performance.now() - t0) / 1000,
    stopped: stopped ?? (interrupted ? abort.signal.reason : undefined),
    interrupted,
    files: new Map([...files].map(([c, f]) => [c, f.path])),
    subset,
    problems,
  };
}
