import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RunConfig, worldDifference } from '../protocols/config.ts';
import { DialogueRecord, dialogueTrace } from '../protocols/dialogue.ts';
import { LooptoolError, isInfrastructureError } from '../protocols/errors.ts';
import { canonicalJson, type JsonValue } from '../protocols/json.ts';
import type { AnyRoleImpl } from '../protocols/role.ts';
import { deriveRngSeed } from '../protocols/rng.ts';
import { Sample } from '../protocols/sample.ts';
import { ToolSpec } from '../protocols/toolspec.ts';
import { hashString } from '../protocols/rng.ts';
import type { DialogueOutput } from '../machines/dialogue.ts';
import { driveDialogue, simRolesOf } from './dialogue-run.ts';
import { appendJsonl, exportOpenAI, readJsonl, rewriteJsonl } from './corpus.ts';
import type { LooptoolNode } from './bus/node.ts';
import { writeJsonAtomic } from './rundir.ts';
import { checkRunConfig, storedRunConfig } from './run-config.ts';
import { forEachLimit } from './concurrency.ts';

/**
 * Round 0 (seed data) driver: runs N dialogue machines with bounded concurrency over
 * the bus and writes what they produce to `<runDir>/round-0/`:
 *
 *   dialogues.jsonl   accepted dialogues (DialogueRecord)
 *   rejected.jsonl    rejected dialogues, with reason and detail
 *   samples.jsonl     training samples of the accepted ones (Sample)
 *   tools.jsonl       the tool set of every finished dialogue ({dialogue, tools})
 *   samples.openai.jsonl, summary.json   written when all N are done
 *
 * A finished dialogue writes its samples and tools first and its record last, so
 * the record marks it done. Re-running reads what exists, drops the leftovers of
 * dialogues that never wrote their record, and runs only the missing ids: no
 * duplicates, and (every seed deriving from run seed + dialogue id) the same corpus.
 * When all are done the files are sorted by dialogue index, so a corpus does not
 * depend on the order in which concurrent dialogues happened to finish.
 */

export const ROUND0 = 'round-0';
export const ToolsRecord = z.object({ dialogue: z.string(), index: z.number().int().min(0), tools: z.array(ToolSpec) });

export type SeedFiles = { dir: string; dialogues: string; rejected: string; samples: string; tools: string; openai: string; summary: string };

export function seedFiles(runDir: string): SeedFiles {
  const dir = join(runDir, ROUND0);
  return {
    dir,
    dialogues: join(dir, 'dialogues.jsonl'),
    rejected: join(dir, 'rejected.jsonl'),
    samples: join(dir, 'samples.jsonl'),
    tools: join(dir, 'tools.jsonl'),
    openai: join(dir, 'samples.openai.jsonl'),
    summary: join(dir, 'summary.json'),
  };
}

/** Dialogue ids carry a tag of the run seed, so corpora of different seeds never share ids. */
export function dialogueId(runSeed: string, index: number): string {
  return `d${(hashString(runSeed) >>> 8).toString(36).padStart(5, '0')}-${String(index).padStart(6, '0')}`;
}

export const SeedSummary = z.object({
  dialogues: z.number().int(),
  finished: z.number().int(),
  accepted: z.number().int(),
  rejected: z.number().int(),
  rejectedBy: z.record(z.string(), z.number().int()),
  samples: z.number().int(),
  samplesBy: z.record(z.string(), z.number().int()),
  masked: z.number().int(),
  noisy: z.number().int().describe('samples whose label carries a planted or sampled teacher mistake (sim truth)'),
  badTurns: z.number().int(),
  ranNow: z.number().int().describe('dialogues simulated by this invocation (the rest were done before)'),
  notAttempted: z.number().int().default(0).describe('dialogues of this invocation that an outage (endpoint down, role not served) kept from running; the next run tries them again'),
  unavailable: z.string().nullable().default(null).describe('the first outage of this invocation, when there was one'),
  seconds: z.number(),
  complete: z.boolean(),
});
export type SeedSummary = z.infer<typeof SeedSummary>;

export type SeedOptions = {
  node: LooptoolNode;
  runDir: string;
  config: RunConfig;
  dialogues: number;
  /** dialogue machines in flight at once */
  concurrency: number;
  /** a fixed pool of tool sets to draw from (dialogue i uses pool[i % n]) instead of the API designer */
  toolPool?: ToolSpec[][];
  signal?: AbortSignal;
  onProgress?: (p: { finished: number; total: number; accepted: number; rejected: number; record?: DialogueRecord }) => void;
  /** trace every machine state change and dialogue message (default true) */
  trace?: boolean;
};

/** Reads a run's stored config, or stores `given`; a different seed or world on a re-run is an error. */
export function settleRunConfig(runDir: string, given: RunConfig | undefined): RunConfig {
  const path = join(runDir, 'config.json');
  if (existsSync(path)) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new LooptoolError({ code: 'invalid_input', message: `${path} is not JSON: ${(err as Error).message}` });
    }
    const r = checkRunConfig(raw);
    if (!r.ok) throw new LooptoolError({ code: 'invalid_input', message: `invalid ${path}`, issues: r.issues });
    const stored = r.config;
    if (given) {
      // What decides the corpus must not change under a run; endpoints and role lists may.
      const key = worldDifference(stored, given);
      if (key)
        throw new LooptoolError({
          code: 'invalid_input',
          message: `${runDir} was seeded with a different "${key}" (${JSON.stringify(stored[key]).slice(0, 120)}); continue it without --seed/--config, or use a new --out`,
          issues: [{ path: `config.${key}`, message: 'differs from the stored run config' }],
        });
      const keep = storedRunConfig(given);
      if (canonicalJson(stored as unknown as JsonValue) !== canonicalJson(keep as unknown as JsonValue)) writeJsonAtomic(path, keep);
      return given;
    }
    return stored;
  }
  const config = given ?? RunConfig.parse({});
  writeJsonAtomic(path, storedRunConfig(config));
  return config;
}

type Existing = { done: Map<string, DialogueRecord>; samples: Sample[]; tools: z.infer<typeof ToolsRecord>[] };

/** What earlier invocations finished; leftovers of unfinished dialogues (and torn lines) are removed from the files. */
export function loadExisting(files: SeedFiles): Existing {
  const done = new Map<string, DialogueRecord>();
  for (const path of [files.dialogues, files.rejected]) {
    const r = readJsonl(path, DialogueRecord, { tolerateTornTail: true });
    const keep: DialogueRecord[] = [];
    for (const rec of r.records) {
      if (done.has(rec.id)) continue;
      done.set(rec.id, rec);
      keep.push(rec);
    }
    if (r.torn || keep.length !== r.records.length) rewriteJsonl(path, keep);
  }
  const prune = <T>(path: string, schema: z.ZodType<T>, key: (t: T) => string, dialogue: (t: T) => string): T[] => {
    const r = readJsonl(path, schema, { tolerateTornTail: true });
    const seen = new Set<string>();
    const keep = r.records.filter((t) => {
      const k = key(t);
      if (seen.has(k) || !done.has(dialogue(t))) return false;
      seen.add(k);
      return true;
    });
    if (r.torn || keep.length !== r.records.length) rewriteJsonl(path, keep);
    return keep;
  };
  const samples = prune(files.samples, Sample, (s) => s.id, (s) => s.provenance.dialogue ?? '');
  const tools = prune(files.tools, ToolsRecord, (t) => t.dialogue, (t) => t.dialogue);
  return { done, samples, tools };
}

/** Runs one dialogue machine to its end; traces its states and messages. */
function runDialogue(node: LooptoolNode, config: RunConfig, index: number, opts: { tools?: ToolSpec[]; trace: boolean; signal?: AbortSignal }): Promise<DialogueOutput> {
  const id = dialogueId(config.seed, index);
  const input = {
    id,
    index,
    seed: deriveRngSeed(config.seed, id),
    cfg: config.seeding,
    simRoles: simRolesOf(config),
    call: node.call,
    ...(opts.tools ? { tools: opts.tools } : {}),
    ...(config.seeding.tools ? { toolCount: config.seeding.tools } : {}),
  };
  return driveDialogue(input, { node, trace: opts.trace, signal: opts.signal, abortMessage: 'aborted' });
}

/** Counts over every finished dialogue of the run (earlier invocations included). */
export function summarize(records: Iterable<DialogueRecord>, samples: readonly Sample[], total: number, ranNow: number, seconds: number): SeedSummary {
  let accepted = 0;
  let rejected = 0;
  let badTurns = 0;
  const rejectedBy: Record<string, number> = {};
  for (const r of records) {
    badTurns += r.badTurns.length;
    if (r.status === 'accepted') accepted++;
    else {
      rejected++;
      const why = r.reason ?? 'unknown';
      rejectedBy[why] = (rejectedBy[why] ?? 0) + 1;
    }
  }
  const samplesBy: Record<string, number> = {};
  let masked = 0;
  let noisy = 0;
  for (const s of samples) {
    samplesBy[s.kind] = (samplesBy[s.kind] ?? 0) + 1;
    if (s.masked) masked++;
    if (s.truth?.noisy) noisy++;
  }
  const finished = accepted + rejected;
  return { dialogues: total, finished, accepted, rejected, rejectedBy, samples: samples.length, samplesBy, masked, noisy, badTurns, ranNow, notAttempted: 0, unavailable: null, seconds, complete: finished >= total };
}

/** Sorts the round's files by dialogue index and writes the OpenAI export and the summary. */
export function finalizeSeed(files: SeedFiles, summary: SeedSummary): void {
  const byIndex = (a: { index: number }, b: { index: number }) => a.index - b.index;
  const dialogues = readJsonl(files.dialogues, DialogueRecord).records.sort(byIndex);
  const rejected = readJsonl(files.rejected, DialogueRecord).records.sort(byIndex);
  const order = new Map([...dialogues, ...rejected].map((d) => [d.id, d.index]));
  const samples = readJsonl(files.samples, Sample).records.sort(
    (a, b) => (order.get(a.provenance.dialogue ?? '') ?? 0) - (order.get(b.provenance.dialogue ?? '') ?? 0) || (a.provenance.turn ?? 0) - (b.provenance.turn ?? 0),
  );
  const tools = readJsonl(files.tools, ToolsRecord).records.sort(byIndex);
  rewriteJsonl(files.dialogues, dialogues);
  rewriteJsonl(files.rejected, rejected);
  rewriteJsonl(files.samples, samples);
  rewriteJsonl(files.tools, tools);
  exportOpenAI(samples, files.openai);
  writeJsonAtomic(files.summary, summary);
}

/** The round-0 roles, served on `node` (unless they run elsewhere). */
export async function serveSeedRoles(node: LooptoolNode, roles: AnyRoleImpl[], opts: { concurrency?: number } = {}): Promise<void> {
  for (const r of roles) await node.serve(r, opts.concurrency ? { concurrency: opts.concurrency } : {});
}

/** Simulates the missing dialogues of the run and returns the counts over the whole run. */
export async function runSeed(opts: SeedOptions): Promise<SeedSummary> {
  const t0 = performance.now();
  const files = seedFiles(opts.runDir);
  mkdirSync(files.dir, { recursive: true });
  const existing = loadExisting(files);
  const records = new Map(existing.done);
  const samples = [...existing.samples];
  const todo: number[] = [];
  for (let i = 0; i < opts.dialogues; i++) if (!records.has(dialogueId(opts.config.seed, i))) todo.push(i);
  const countDone = () => [...records.values()].filter((r) => r.index < opts.dialogues);
  let accepted = countDone().filter((r) => r.status === 'accepted').length;
  let rejected = countDone().length - accepted;
  opts.onProgress?.({ finished: accepted + rejected, total: opts.dialogues, accepted, rejected });

  let ran = 0;
  // An outage fails every dialogue in flight; after this many in a row no new one starts.
  const outageLimit = Math.max(2, opts.concurrency);
  const outage = { count: 0, inARow: 0, first: null as string | null };
  const play = async (index: number): Promise<void> => {
    const pool = opts.toolPool;
    let out: DialogueOutput;
    try {
      out = await runDialogue(opts.node, opts.config, index, { tools: pool?.length ? pool[index % pool.length] : undefined, trace: opts.trace ?? true, signal: opts.signal });
    } catch (err) {
      if (opts.signal?.aborted) return;
      if (isInfrastructureError(err)) {
        // not attempted: nothing is written, so the next run of the command tries it again
        outage.count++;
        outage.inARow++;
        // A role that outlived seeding.callTimeoutMs is usually a slow model (a small one on a CPU), not a dead one.
        outage.first ??= / did not answer within \d+ ms/.test(err.message) ? `${err.message} (a slow model needs a larger seeding.callTimeoutMs)` : err.message;
        return;
      }
      throw err;
    }
    outage.inARow = 0;
    const rec = out.record;
    // Samples and tools first, the record last: the record is what marks the dialogue done.
    appendJsonl(files.samples, out.samples);
    appendJsonl(files.tools, [{ dialogue: rec.id, index: rec.index, tools: rec.tools }]);
    appendJsonl(rec.status === 'accepted' ? files.dialogues : files.rejected, [rec]);
    records.set(rec.id, rec);
    samples.push(...out.samples);
    ran++;
    if (rec.status === 'accepted') accepted++;
    else rejected++;
    opts.node.publish(dialogueTrace(rec.id, 'progress', { status: rec.status, reason: rec.reason ?? null, samples: out.samples.length, finished: accepted + rejected, total: opts.dialogues }));
    opts.onProgress?.({ finished: accepted + rejected, total: opts.dialogues, accepted, rejected, record: rec });
  };
  await forEachLimit(todo, opts.concurrency, play, { signal: opts.signal, stop: () => outage.inARow >= outageLimit });
  const inRun = [...records.values()].filter((r) => r.index < opts.dialogues);
  const ids = new Set(inRun.map((r) => r.id));
  const summary = { ...summarize(inRun, samples.filter((s) => ids.has(s.provenance.dialogue ?? '')), opts.dialogues, ran, (performance.now() - t0) / 1000), notAttempted: outage.count, unavailable: outage.first };
  if (summary.complete && !opts.signal?.aborted) finalizeSeed(files, summary);
  await opts.node.tracer.close().catch(() => undefined);
  return summary;
}
