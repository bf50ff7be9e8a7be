import { ProbeRecord } from '../../../protocols/loop/records.ts';
import { ProberContract } from '../../../protocols/roles/prober.ts';
import { publicView, type Sample } from '../../../protocols/sample.ts';
import type { StageSummary } from '../../../machines/loop.ts';
import { crashPoint } from '../crash.ts';
import { chunks, mapLimit } from '../../concurrency.ts';
import type { StageContext } from './context.ts';

/**
 * GCP: the greedy answer of round j's policy to every sample of D_j, mastered or not, with
 * its perplexity; the base run's when this run adopted its round (StageContext.adoptedBaseRound).
 */
export async function probing(cx: StageContext, j: number): Promise<StageSummary> {
  const t0 = performance.now();
  const recs = cx.adoptedBaseRound(j) && cx.baseStore().exists(`round-${j}/probes.jsonl`) ? cx.baseStore().read(`round-${j}/probes.jsonl`, ProbeRecord) : await probeData(cx, j);
  cx.store.write(`round-${j}/probes.jsonl`, recs);
  cx.checkpoints.items(`round-${j}/probing.partial.jsonl`, ProbeRecord, (r) => r.id).clear();
  const mastered = recs.filter((r) => r.mastered).length;
  return cx.finish(j, 'probing', t0, [`round-${j}/probes.jsonl`], { probed: recs.length, mastered, failed: recs.length - mastered });
}

async function probeData(cx: StageContext, j: number): Promise<ProbeRecord[]> {
  await cx.policy.ensure(cx.checkpointAfter(j));
  const samples = cx.data(j).map((p) => p.sample);
  const got = await probeAll(cx, j, 'probing', samples, cx.loop.probe.max_new_tokens);
  return samples.map((s) => got.get(s.id)!);
}

/** Greedy answers of the current policy to `samples`, in batches, cached per batch (probing, and evaluating as 'eval'). */
export async function probeAll(cx: StageContext, j: number, stage: 'probing' | 'eval', samples: Sample[], maxTokens: number): Promise<Map<string, ProbeRecord>> {
  const cache = cx.checkpoints.items(`round-${j}/${stage}.partial.jsonl`, ProbeRecord, (r) => r.id);
  const todo = chunks(
    samples.filter((s) => !cache.done.has(s.id)),
    cx.loop.probe.batch,
  );
  let done = cache.done.size;
  cx.progress(stage === 'eval' ? 'evaluating' : 'probing', j, done, samples.length);
  await mapLimit(
    todo,
    Math.max(1, Math.min(2, cx.loop.concurrency)),
    async (batch) => {
      const out = await cx.call(
        ProberContract,
        'probe',
        { samples: batch.map((s) => publicView(s)), max_new_tokens: maxTokens },
        { id: `${cx.run}.r${j}.${stage}.${batch[0]!.id}.${batch.length}` },
      );
      const recs: ProbeRecord[] = out.results.map((r, i) => ({ type: 'probe', round: Math.max(1, j), kind: batch[i]!.kind, ...r }));
      cache.add(recs);
      done += recs.length;
      cx.progress(stage === 'eval' ? 'evaluating' : 'probing', j, done, samples.length);
      crashPoint(stage === 'eval' ? (j === 0 ? 'baseline' : 'evaluating') : 'probing', j, done);
    },
    cx.signal,
  );
  return cache.done;
}
