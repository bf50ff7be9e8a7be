import { LooptoolError } from '../../../protocols/errors.ts';
import type { JsonValue } from '../../../protocols/json.ts';
import type { StageSummary } from '../../../machines/loop.ts';
import { signalByPart } from '../../../protocols/loop/metrics.ts';
import type { StageContext } from './context.ts';

/**
 * Round j's GRPO on D_j (after an optional SFT pass, loop.train.sft_mix), from the policy
 * round j-1 left; round 1 of a variant is its base run's (StageContext.sharesBaseRound).
 */
export async function training(cx: StageContext, j: number): Promise<StageSummary> {
  const t0 = performance.now();
  if (cx.sharesBaseRound(j)) {
    const { summary, checkpoint } = cx.adoptBaseTraining(j);
    const n = (k: string) => (typeof summary[k] === 'number' ? (summary[k] as number) : 0);
    return cx.finish(j, 'training', t0, [`round-${j}/train.json`], { samples: n('samples'), steps: n('steps'), reward_first: n('reward_first'), reward_last: n('reward_last'), reward_mean: n('reward_mean'), base: 1 }, checkpoint);
  }
  const t = cx.loop.train;
  await cx.policy.ensure(cx.checkpointAfter(j - 1));
  const data = cx.data(j);
  const samples = data.map((p) => p.sample).filter((s) => !s.masked);
  if (samples.length === 0) throw new LooptoolError({ code: 'internal', message: `D_${j} is empty: nothing to train on` });
  cx.progress('training', j, 0, 1, `${samples.length} samples`);
  const fail = (err: unknown) => {
    cx.policy.forget();
    throw err;
  };
  const steps: JsonValue[] = [];
  let sft: Record<string, unknown> | undefined;
  if (t.sft_mix > 0) {
    const seed = cx.trainSeed('sft', j);
    sft = await cx.watchTrainer(
      'training',
      j,
      `${cx.run}.r${j}.sft`,
      (call) => cx.policy.sft({ samples, epochs: t.sft_mix, batch_size: cx.loop.warmup.batch_size, lr: t.sft_lr, seed, reset_optimizer: true }, call).catch(fail),
      steps,
    );
    sft = { ...sft, seed };
  }
  const seed = cx.trainSeed('grpo', j);
  // every loop.train setting but the batch and the SFT pass's is a GRPO setting
  const { batch_size: _batch, sft_mix: _mix, sft_lr: _sftLr, ...grpo } = t;
  // a resumed run restores weights without the optimizer, so no round may lean on the last one's
  const settings = { ...grpo, reset_optimizer: true };
  const out = await cx.watchTrainer('training', j, `${cx.run}.r${j}.grpo`, (call) => cx.policy.grpo({ samples, round: j, batch_size: t.batch_size, seed, settings }, call).catch(fail), steps);
  cx.progress('training', j, 1, 1, `reward ${out.reward_first.toFixed(3)} → ${out.reward_last.toFixed(3)}`);
  const { group_rewards, ...summary } = out;
  const byPart = signalByPart(group_rewards, new Map(data.map((p) => [p.sample.id, p.part])));
  cx.store.writeJson(`round-${j}/train.json`, { kind: 'grpo', samples: samples.length, seed, settings, ...summary, by_part: byPart, ...cx.trainRecord(out), ...(sft ? { sft: { ...sft, ...cx.trainRecord(sft as { checkpoint?: string | null }) } } : {}) });
  cx.store.write(`round-${j}/steps.jsonl`, steps);
  return cx.finish(j, 'training', t0, [`round-${j}/train.json`, `round-${j}/steps.jsonl`], { samples: samples.length, steps: out.steps, reward_first: out.reward_first, reward_last: out.reward_last, reward_mean: out.reward_mean }, out.checkpoint);
}
