import { seededOrder } from '../../../protocols/loop/merge.ts';
import { ProbeRecord, SampleRecord } from '../../../protocols/loop/records.ts';
import { ProberContract } from '../../../protocols/roles/prober.ts';
import { answerMessage, publicView, type Sample } from '../../../protocols/sample.ts';
import { formatPythonCalls } from '../../../protocols/toolcalls/format.ts';
import type { StageSummary } from '../../../machines/loop.ts';
import { crashPoint } from '../crash.ts';
import { chunks, mapLimit } from '../../concurrency.ts';
import type { StageContext } from './context.ts';
import { untrainedSeed } from './untrained-seed.ts';

/**
 * GCP: the greedy answer of round j's policy to every sample of D_j, mastered or not, with
 * its perplexity; the base run's when this run adopted its round (StageContext.adoptedBaseRound).
 * With loop.probe.fresh, also to that many seed samples never trained on, drawn anew each
 * round (a departure from the paper, which probes D_j only: docs/loop.md).
 */
export async function probing(cx: StageContext, j: number): Promise<StageSummary> {
  const t0 = performance.now();
  const adopted = cx.adoptedBaseRound(j) && cx.baseStore().exists(`round-${j}/probes.jsonl`);
  const got = adopted ? adoptedProbes(cx, j) : await probeData(cx, j, freshDraw(cx, j));
  cx.store.write(`round-${j}/probes.jsonl`, got.data);
  const files = [`round-${j}/probes.jsonl`];
  if (cx.loop.probe.fresh > 0) {
    cx.store.write(`round-${j}/fresh.jsonl`, got.fresh.map((sample) => ({ type: 'sample', sample })));
    cx.store.write(`round-${j}/fresh-probes.jsonl`, got.freshProbes);
    files.push(`round-${j}/fresh.jsonl`, `round-${j}/fresh-probes.jsonl`);
  }
  cx.checkpoints.items(`round-${j}/probing.partial.jsonl`, ProbeRecord, (r) => r.id).clear();
  const mastered = got.data.filter((r) => r.mastered).length;
  const freshCounts: Record<string, number> = cx.loop.probe.fresh > 0 ? { fresh: got.fresh.length, fresh_failed: got.freshProbes.filter((r) => !r.mastered).length } : {};
  return cx.finish(j, 'probing', t0, files, { probed: got.data.length, mastered, failed: got.data.length - mastered, ...freshCounts });
}

type RoundProbes = { data: ProbeRecord[]; fresh: Sample[]; freshProbes: ProbeRecord[] };

/** loop.probe.fresh seed samples the loop has neither trained on nor probed, at random (seeded per round). */
function freshDraw(cx: StageContext, j: number): Sample[] {
  const n = cx.loop.probe.fresh;
  return n > 0 && !cx.ablations.static ? seededOrder(untrainedSeed(cx, j, j - 1), cx.rngSeed('fresh-probe', j)).slice(0, n) : [];
}

/** The base run's probes of a round this run adopted: its settings are this run's, fresh probes included (sharesBaseRound). */
function adoptedProbes(cx: StageContext, j: number): RoundProbes {
  const base = cx.baseStore();
  const fresh = base.exists(`round-${j}/fresh.jsonl`);
  return {
    data: base.read(`round-${j}/probes.jsonl`, ProbeRecord),
    fresh: fresh ? base.read(`round-${j}/fresh.jsonl`, SampleRecord).map((r) => r.sample) : [],
    freshProbes: fresh ? base.read(`round-${j}/fresh-probes.jsonl`, ProbeRecord) : [],
  };
}

async function probeData(cx: StageContext, j: number, fresh: Sample[]): Promise<RoundProbes> {
  await cx.policy.ensure(cx.checkpointAfter(j));
  const samples = cx.data(j).map((p) => p.sample);
  const got = await probeAll(cx, j, 'probing', [...samples, ...fresh], cx.loop.probe.max_new_tokens);
  return { data: samples.map((s) => got.get(s.id)!), fresh, freshProbes: fresh.map((s) => got.get(s.id)!) };
}

/**
 * Greedy answers of the current policy to `samples`, in batches, cached per batch (probing,
 * and evaluating as 'eval' on the test split and 'validation' on the validation split).
 */
export async function probeAll(cx: StageContext, j: number, stage: 'probing' | 'eval' | 'validation', samples: Sample[], maxTokens: number): Promise<Map<string, ProbeRecord>> {
  const cache = cx.checkpoints.items(`round-${j}/${stage}.partial.jsonl`, ProbeRecord, (r) => r.id);
  const shown = stage === 'probing' ? 'probing' : 'evaluating';
  // a crash point of its own for the validation pass, which runs inside the same stage as the test pass
  const crashAt = stage === 'probing' ? 'probing' : stage === 'validation' ? 'validating' : j === 0 ? 'baseline' : 'evaluating';
  const todo = chunks(
    samples.filter((s) => !cache.done.has(s.id)),
    cx.loop.probe.batch,
  );
  let done = cache.done.size;
  cx.progress(shown, j, done, samples.length);
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
      if (stage === 'probing') recs.forEach((r, i) => cx.converse(probeDialogue(j, r.id), [...batch[i]!.context, answerMessage(r.prediction)], probeOutcome(r, batch[i]!)));
      done += recs.length;
      cx.progress(shown, j, done, samples.length);
      crashPoint(crashAt, j, done);
    },
    cx.signal,
  );
  return cache.done;
}

/** The id under which a probe and the judge's verdict on it are traced as one conversation. */
export const probeDialogue = (j: number, sampleId: string) => `r${j}.probe.${sampleId}`;

/** ToolMatch's outcome of a probe, as the viewer's verdict line (the label beside a miss). */
function probeOutcome(r: ProbeRecord, s: Sample): { status: string; reason: string } {
  if (r.mastered) return { status: 'mastered', reason: 'ToolMatch' };
  const label = s.label.type === 'calls' ? formatPythonCalls(s.label.calls) : JSON.stringify(s.label.text);
  return { status: 'failed', reason: `ToolMatch; the label: ${label}` };
}
