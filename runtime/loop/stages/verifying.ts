import { ACTION_OF, decided, majorityVerdict, routeSample } from '../../../protocols/loop/jglv.ts';
import { trueVerdict } from '../../../protocols/loop/metrics.ts';
import { VerdictRecord } from '../../../protocols/loop/records.ts';
import { JudgeContract, type VerifyVerdict } from '../../../protocols/roles/judge.ts';
import { publicView } from '../../../protocols/sample.ts';
import type { StageSummary } from '../../../machines/loop.ts';
import { crashPoint } from '../crash.ts';
import { mapLimit } from '../../concurrency.ts';
import { probeDialogue } from './probing.ts';
import type { StageContext } from './context.ts';

/** JGLV: the judge's majority verdict on every probed sample the policy failed (D_j's and fresh ones), and what it does to the sample. */
export async function verifying(cx: StageContext, j: number): Promise<StageSummary> {
  const t0 = performance.now();
  const { samples: byId, probes } = cx.probed(j);
  const failed = probes.filter((p) => !p.mastered);
  const votes = cx.loop.jglvVotes;
  const cache = cx.checkpoints.items(`round-${j}/verifying.partial.jsonl`, VerdictRecord, (r) => r.id);
  let done = cache.done.size;
  cx.progress('verifying', j, done, failed.length);
  await mapLimit(
    failed.filter((p) => !cache.done.has(p.id)),
    cx.loop.concurrency,
    async (p) => {
      const sample = byId.get(p.id)!;
      const cast: { verdict: VerifyVerdict; analysis: string }[] = [];
      // votes one after the other, stopping once the rest cannot change the majority
      for (let k = 0; k < votes && !decided(cast.map((c) => c.verdict), votes); k++) {
        const v = await cx.call(
          JudgeContract,
          'verify',
          { seed: cx.rngSeed('jglv', j, p.id, 'vote', k), sample: publicView(sample), prediction: p.prediction, ...(sample.truth ? { hidden: { truth: sample.truth } } : {}) },
          { id: `${cx.run}.r${j}.verify.${p.id}.${k}` },
        );
        cast.push(v);
      }
      const tally = majorityVerdict(cast.map((c) => c.verdict));
      const analysis = cast.find((c) => c.verdict === tally.verdict)!.analysis;
      const action = ACTION_OF[tally.verdict];
      const route = routeSample(sample, p, { verdict: tally.verdict, analysis }, j);
      const rec: VerdictRecord = {
        type: 'verdict',
        round: j,
        id: p.id,
        verdict: tally.verdict,
        votes: cast.map((c) => c.verdict),
        analysis,
        action,
        ...(action === 'correct_label' && route.to === 'error_seed' ? { corrected: route.sample.id } : {}),
        ...(sample.truth ? { truth: trueVerdict(sample.label, p.prediction, sample.truth) } : {}),
      };
      cache.add([rec]);
      cx.converse(probeDialogue(j, p.id), [], { status: tally.verdict, reason: `votes ${rec.votes.join(', ')}${analysis ? `; ${analysis}` : ''}` });
      cx.progress('verifying', j, ++done, failed.length);
      crashPoint('verifying', j, done);
    },
    cx.signal,
  );
  const recs = failed.map((p) => cache.done.get(p.id)!);
  cx.store.write(`round-${j}/verdicts.jsonl`, recs);
  cache.clear();
  const count = (v: VerifyVerdict) => recs.filter((r) => r.verdict === v).length;
  return cx.finish(j, 'verifying', t0, [`round-${j}/verdicts.jsonl`], {
    verified: recs.length,
    pred_wrong: count('PRED_WRONG'),
    label_wrong: count('LABEL_WRONG'),
    both_correct: count('BOTH_CORRECT'),
    both_wrong: count('BOTH_WRONG'),
  });
}
