import { cpSync } from 'node:fs';
import { LooptoolError } from '../../../protocols/errors.ts';
import { initialRound, seededOrder, staticPoolNeed } from '../../../protocols/loop/merge.ts';
import { labelNoiseRate } from '../../../protocols/loop/metrics.ts';
import { stratifiedTake } from '../../../protocols/loop/split.ts';
import { UNIFORM_SKILL_MIX } from '../../../protocols/roles/planner.ts';
import { primarySkill, Sample } from '../../../protocols/sample.ts';
import type { ToolSpec } from '../../../protocols/toolspec.ts';
import type { StageSummary } from '../../../machines/loop.ts';
import { readJsonl } from '../../corpus.ts';
import { runSeed, seedFiles } from '../../seed.ts';
import { crashPoint } from '../crash.ts';
import type { StageContext } from './context.ts';
import { dialoguesFor, simulatedStream, worldTools } from './streams.ts';

const OUTPUTS = ['round-0/pool.jsonl', 'round-0/test.jsonl', 'round-1/data.jsonl', 'round-1/composition.json'];
const VALIDATION = 'round-0/validation.jsonl';

/**
 * Seed data (round 0): simulated dialogues through the seeding pipeline, split into the seed
 * pool and the held-out test split; D_1 is the pool's first window. A run with a base copies
 * the base's instead.
 */
export async function seeding(cx: StageContext): Promise<StageSummary> {
  const t0 = performance.now();
  if (cx.d.base) {
    const base = cx.baseStore();
    for (const f of OUTPUTS) {
      if (!base.exists(f)) throw new LooptoolError({ code: 'invalid_input', message: `base run ${cx.d.base} has no ${f}: its seeding stage did not finish` });
      cpSync(base.path(f), cx.store.path(f));
    }
    // a validation split is drawn with the base's seed data, so only a base that drew one can give it
    if (cx.loop.eval.validationSize) {
      if (!base.exists(VALIDATION))
        throw new LooptoolError({ code: 'invalid_input', message: `loop.eval.validationSize is ${cx.loop.eval.validationSize}, but base run ${cx.d.base} drew no validation split (${VALIDATION}); set it to 0, or start from a base run that set it` });
      cpSync(base.path(VALIDATION), cx.store.path(VALIDATION));
    }
    const pool = cx.pool().length;
    checkStaticPool(cx, pool);
    return cx.finish(0, 'seeding', t0, outputs(cx), { pool, test: cx.test().length, validation: cx.validation().length, base: 1 });
  }
  const loop = cx.loop;
  const tools = await worldTools(cx);
  const summary = await runSeed({
    ...(tools ? { toolPool: tools } : {}),
    node: cx.node,
    runDir: cx.store.dir,
    config: cx.config,
    dialogues: loop.seedDialogues,
    concurrency: loop.concurrency,
    signal: cx.signal,
    onProgress: (p) => {
      cx.progress('seeding', 0, p.finished, p.total, `accepted ${p.accepted}`);
      if (p.record) crashPoint('seeding', 0, p.finished);
    },
  });
  if (!summary.complete)
    throw new LooptoolError({
      code: summary.unavailable ? 'unavailable' : 'internal',
      message: `seeding stopped after ${summary.finished}/${summary.dialogues} dialogues${summary.unavailable ? ` (not attempted: ${summary.unavailable}); resume the run when the endpoint is back` : ''}`,
    });
  const all = readJsonl(seedFiles(cx.store.dir).samples, Sample).records.filter((s) => !s.masked);
  const { pool: rest, test } = loop.eval.split === 'pool' ? splitSeed(all, loop.eval.testSize, cx.rngSeed('split')) : { pool: all, test: await heldOutStream(cx, 'test', loop.eval.testSize, loop.eval.testDialogues, tools) };
  const { pool, validation } = await validationSplit(cx, rest, tools);
  if (pool.length === 0) throw new LooptoolError({ code: 'internal', message: `seeding produced ${all.length} usable samples, all taken by the test split (eval.testSize ${loop.eval.testSize}); simulate more dialogues (loop.seedDialogues)` });
  const ordered = seededOrder(pool, cx.rngSeed('pool'));
  cx.store.write('round-0/pool.jsonl', ordered.map((sample) => ({ type: 'sample', sample })));
  cx.store.write('round-0/test.jsonl', test.map((sample) => ({ type: 'sample', sample })));
  if (loop.eval.validationSize) cx.store.write(VALIDATION, validation.map((sample) => ({ type: 'sample', sample })));
  const d1 = initialRound(ordered, loop.budget);
  cx.store.write('round-1/data.jsonl', d1.samples.map((p) => ({ type: 'sample', part: p.part, sample: p.sample })));
  cx.store.writeJson('round-1/composition.json', d1.composition);
  checkStaticPool(cx, ordered.length);
  return cx.finish(0, 'seeding', t0, outputs(cx), {
    dialogues: summary.dialogues,
    accepted: summary.accepted,
    samples: all.length,
    pool: ordered.length,
    test: test.length,
    validation: validation.length,
    noisy: labelNoiseRate(ordered).noisy,
  });
}

/**
 * A held-out split as its own stream (loop.eval.split "stream"): dialogues simulated with
 * their own seed over the same tool sets, planned uniformly over skills (the sim planner
 * honours the mix; an llm planner plans as it will), stratified by skill to `size`.
 * Nothing of it is ever trained on. The test split is one (no setting is chosen by looking
 * at it), the validation split the other.
 */
async function heldOutStream(cx: StageContext, name: 'test' | 'validation', size: number, dialogues: number, tools: ToolSpec[][] | undefined): Promise<Sample[]> {
  const samples = await simulatedStream(cx, `${name}-stream`, dialogues || dialoguesFor(cx, size), tools, UNIFORM_SKILL_MIX);
  return stratifiedTake(samples, size, primarySkill, cx.rngSeed(`${name}-split`));
}

/** The files seeding leaves: the validation split's beside the others when one is asked for. */
function outputs(cx: StageContext): string[] {
  return cx.loop.eval.validationSize ? [...OUTPUTS, VALIDATION] : OUTPUTS;
}

/**
 * The validation split (loop.eval.validationSize), drawn as the test split is: with split
 * "stream" a stream of its own seed, uniform over skills and stratified by skill; with
 * "pool" whole dialogues out of what the test split left of the seed pool. Like the test
 * split it is never trained on; unlike it, it is there to be looked at when choosing.
 */
async function validationSplit(cx: StageContext, pool: Sample[], tools: ToolSpec[][] | undefined): Promise<{ pool: Sample[]; validation: Sample[] }> {
  const e = cx.loop.eval;
  if (!e.validationSize) return { pool, validation: [] };
  if (e.split === 'pool') {
    const s = splitSeed(pool, e.validationSize, cx.rngSeed('validation-split'));
    return { pool: s.pool, validation: s.test };
  }
  return { pool, validation: await heldOutStream(cx, 'validation', e.validationSize, 0, tools) };
}

/** The static baseline never reuses seed data: refuse at once a pool too small for every round. */
function checkStaticPool(cx: StageContext, have: number): void {
  if (!cx.ablations.static) return;
  const need = staticPoolNeed(cx.loop.budget, cx.loop.rounds);
  if (have < need)
    throw new LooptoolError({
      code: 'invalid_input',
      message: `the static baseline needs ${need} fresh seed samples (loop.budget ${cx.loop.budget} × ${cx.loop.rounds} rounds), the seed pool holds ${have}; simulate more seed dialogues (loop.seedDialogues) or lower loop.budget`,
    });
}

/**
 * The held-out test split: whole dialogues (their samples share context), drawn in a
 * seeded order until the split holds `size` samples; the rest is the seed pool.
 */
export function splitSeed(samples: readonly Sample[], size: number, seed: string): { pool: Sample[]; test: Sample[] } {
  const byDialogue = new Map<string, Sample[]>();
  for (const s of samples) {
    const d = s.provenance.dialogue ?? s.id;
    const list = byDialogue.get(d);
    if (list) list.push(s);
    else byDialogue.set(d, [s]);
  }
  const order = seededOrder(
    [...byDialogue.keys()].map((id) => ({ id })),
    seed,
  );
  const testIds = new Set<string>();
  let n = 0;
  for (const { id } of order) {
    if (n >= size) break;
    testIds.add(id);
    n += byDialogue.get(id)!.length;
  }
  const test: Sample[] = [];
  const pool: Sample[] = [];
  for (const s of samples) (testIds.has(s.provenance.dialogue ?? s.id) ? test : pool).push(s);
  return { pool, test };
}
