import { isInfrastructureError } from '../../../protocols/errors.ts';
import { routeRound, type ErrorSeed } from '../../../protocols/loop/jglv.ts';
import { seededOrder } from '../../../protocols/loop/merge.ts';
import { ExpansionRecord } from '../../../protocols/loop/records.ts';
import { ExpanderContract, Variation } from '../../../protocols/roles/expander.ts';
import { deriveRngSeed, intSeed } from '../../../protocols/rng.ts';
import { ValidatorContract } from '../../../protocols/roles/validator.ts';
import { publicView } from '../../../protocols/sample.ts';
import type { StageSummary } from '../../../machines/loop.ts';
import { crashPoint } from '../crash.ts';
import { curateSamples } from '../curate.ts';
import { mapLimit } from '../../concurrency.ts';
import type { StageContext } from './context.ts';

const VARIATIONS = Variation.options;

/** EDDE: `loop.expansions` new samples around every error seed, each validated before it is kept. */
export async function expanding(cx: StageContext, j: number): Promise<StageSummary> {
  const t0 = performance.now();
  const seeds = errorSeedsOf(cx, j);
  const k = cx.loop.expansions;
  const slots = seeds.flatMap((s) => Array.from({ length: k }, (_, slot) => ({ ...s, slot })));
  const key = (parent: string, slot: number) => `${parent}#${slot}`;
  const cache = cx.checkpoints.items(`round-${j}/expanding.partial.jsonl`, ExpansionRecord, (r) => key(r.parent, r.slot));
  let done = cache.done.size;
  cx.progress('expanding', j, done, slots.length);
  await mapLimit(
    slots.filter((s) => !cache.done.has(key(s.sample.id, s.slot))),
    cx.loop.concurrency,
    async ({ sample, prediction, analysis, slot }) => {
      // variations rotate over the slots, starting at a place fixed by the seed's id
      const start = intSeed(sample.id) % VARIATIONS.length;
      const variation = VARIATIONS[(start + slot) % VARIATIONS.length]!;
      let reason = '';
      let rec: ExpansionRecord | undefined;
      for (let attempt = 0; attempt < cx.loop.expansionAttempts && !rec; attempt++) {
        const seed = cx.rngSeed('edde', j, sample.id, slot, attempt);
        const callId = `${cx.run}.r${j}.expand.${sample.id}.${slot}.${attempt}`;
        const said = expansionDialogue(j, sample.id, slot, attempt);
        try {
          const out = await cx.call(
            ExpanderContract,
            'expand',
            { seed, round: j, slot, sample: publicView(sample), prediction, analysis, variation, ...(sample.truth ? { hidden: { truth: sample.truth } } : {}) },
            { id: callId },
          );
          const v = await cx.call(
            ValidatorContract,
            'validate',
            {
              tools: out.sample.tools,
              messages: out.dialogue,
              requireToolUse: out.requireToolUse,
              seed: deriveRngSeed(seed, 'validate'),
              votes: cx.loop.validationVotes,
              ...(out.hidden ? { hidden: out.hidden } : {}),
            },
            { id: `${callId}.validate` },
          );
          if (v.accepted) rec = { type: 'expansion', round: j, parent: sample.id, slot, variation, accepted: true, attempts: attempt + 1, sample: out.sample };
          else reason = v.reason ?? 'rejected';
          cx.converse(said, out.dialogue, rec ? { status: 'accepted', reason: `${variation}, from ${sample.id}` } : { status: 'rejected', reason });
        } catch (err) {
          // a generator that could not write the sample is a rejected attempt, not a failed stage,
          // unless the infrastructure failed (role not served, endpoint down): that is no data
          if (isInfrastructureError(err)) throw err;
          reason = `expander: ${(err as Error).message}`;
          cx.converse(said, [], { status: 'rejected', reason });
        }
      }
      rec ??= { type: 'expansion', round: j, parent: sample.id, slot, variation, accepted: false, attempts: cx.loop.expansionAttempts, reason };
      cache.add([rec]);
      cx.progress('expanding', j, ++done, slots.length);
      crashPoint('expanding', j, done);
    },
    cx.signal,
  );
  let recs = slots.map((s) => cache.done.get(key(s.sample.id, s.slot))!);
  if (cx.loop.curators.length) recs = await curated(cx, j, recs);
  cx.store.write(`round-${j}/expansions.jsonl`, recs);
  cache.clear();
  const accepted = recs.filter((r) => r.accepted).length;
  return cx.finish(j, 'expanding', t0, [`round-${j}/expansions.jsonl`], { seeds: seeds.length, slots: recs.length, accepted, rejected: recs.length - accepted });
}

/** The id under which one attempt at an expansion is traced as a conversation. */
const expansionDialogue = (j: number, parent: string, slot: number, attempt: number) => `r${j}.expand.${parent}.${slot}${attempt ? `.${attempt}` : ''}`;

/**
 * The accepted expansions shown to the curators (`loop.curators`) before they can be merged:
 * one a curator drops stays in the record, not accepted, with the curator's note as reason.
 */
async function curated(cx: StageContext, j: number, recs: ExpansionRecord[]): Promise<ExpansionRecord[]> {
  const candidates = recs.flatMap((r) => (r.accepted && r.sample ? [r.sample] : []));
  if (!candidates.length) return recs;
  const { dropped } = await curateSamples(cx.call, cx.loop.curators, candidates, { round: j, idPrefix: `${cx.run}.r${j}.curate`, signal: cx.signal });
  const why = new Map(dropped.map((d) => [d.sample.id, `${d.curator}: ${d.note}`]));
  for (const r of recs) if (r.sample && why.has(r.sample.id)) cx.converse(expansionDialogue(j, r.parent, r.slot, r.attempts - 1), [], { status: 'dropped', reason: why.get(r.sample.id)! });
  return recs.map((r) => (r.sample && why.has(r.sample.id) ? { ...r, accepted: false, reason: why.get(r.sample.id)! } : r));
}

/**
 * The samples EDDE expands: the error seeds as JGLV routed them (PRED_WRONG with their
 * label, LABEL_WRONG with the label corrected; every failed sample when JGLV is off), each
 * with the policy's answer and the judge's analysis. The random-expansion control draws as
 * many probed samples (D_j's and any fresh ones) at random instead, so that it differs
 * from the loop only in which samples are expanded.
 */
function errorSeedsOf(cx: StageContext, j: number): ErrorSeed[] {
  const { samples: byId, probes } = cx.probed(j);
  const verdicts = cx.ablations.jglv ? new Map(cx.verdicts(j).map((v) => [v.id, v])) : null;
  const seeds = routeRound(j, byId, probes, verdicts).errorSeeds;
  if (!cx.ablations.randomExpansion) return seeds;
  const prediction = new Map(probes.map((p) => [p.id, p.prediction]));
  return seededOrder([...byId.values()], cx.rngSeed('random-expansion', j))
    .slice(0, seeds.length)
    .map((sample) => ({ sample, prediction: prediction.get(sample.id) ?? sample.label, analysis: '' }));
}
