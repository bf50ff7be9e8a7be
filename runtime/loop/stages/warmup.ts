import { LooptoolError } from '../../../protocols/errors.ts';
import type { JsonValue } from '../../../protocols/json.ts';
import type { Sample } from '../../../protocols/sample.ts';
import type { StageSummary } from '../../../machines/loop.ts';
import type { StageContext } from './context.ts';
import { dialoguesFor, simulatedStream, worldTools } from './streams.ts';

/**
 * The supervised warm-up (round 0) that gives GRPO a policy which calls tools at all: on
 * the head of the seed pool, or on a stream of its own; off, it leaves the base model.
 * A run with a base takes the base's warmed-up checkpoint.
 */
export async function warmup(cx: StageContext): Promise<StageSummary> {
  const t0 = performance.now();
  if (cx.d.base) {
    if (!cx.baseStore().exists('round-0/train.json')) throw new LooptoolError({ code: 'invalid_input', message: `base run ${cx.d.base} has no finished warm-up (round-0/train.json)` });
    const { checkpoint } = cx.adoptBaseTraining(0);
    return cx.finish(0, 'warmup', t0, ['round-0/train.json'], { base: 1 }, checkpoint);
  }
  const w = cx.loop.warmup;
  if (!w.enabled) {
    cx.store.writeJson('round-0/train.json', { skipped: true, checkpoint: null });
    return cx.finish(0, 'warmup', t0, ['round-0/train.json'], { skipped: 1 }, null);
  }
  const samples = w.source === 'stream' ? await warmupStream(cx) : warmupSamples(cx, cx.pool());
  await cx.policy.ensure(null);
  cx.progress('warmup', 0, 0, w.epochs, `${samples.length} samples`);
  const seed = cx.trainSeed('warmup');
  const steps: JsonValue[] = [];
  const out = await cx.watchTrainer(
    'warmup',
    0,
    `${cx.run}.r0.warmup`,
    (call) =>
      cx.policy.sft({ samples, epochs: w.epochs, batch_size: w.batch_size, lr: w.lr, seed, reset_optimizer: true }, call).catch((err) => {
        cx.policy.forget();
        throw err;
      }),
    steps,
  );
  cx.progress('warmup', 0, w.epochs, w.epochs, `loss ${out.loss_first.toFixed(3)} → ${out.loss_last.toFixed(3)}`);
  cx.store.writeJson('round-0/train.json', { kind: 'sft', samples: samples.length, seed, ...out, ...cx.trainRecord(out) });
  cx.store.write('round-0/steps.jsonl', steps);
  return cx.finish(0, 'warmup', t0, ['round-0/train.json', 'round-0/steps.jsonl'], { samples: samples.length, steps: out.steps, loss_first: out.loss_first, loss_last: out.loss_last }, out.checkpoint);
}

/** The head of the seed pool the warm-up trains on (none when it is off or trains on its own stream). */
export function warmupSamples(cx: StageContext, pool: Sample[]): Sample[] {
  const w = cx.loop.warmup;
  return w.enabled && w.source === 'pool' ? pool.slice(0, Math.max(1, Math.round(pool.length * w.share))) : [];
}

/** The warm-up's own stream (warmup.source "stream"): the world's tools, none of the seed pool's samples. */
async function warmupStream(cx: StageContext): Promise<Sample[]> {
  const w = cx.loop.warmup;
  const tools = await worldTools(cx);
  const samples = await simulatedStream(cx, 'warmup-stream', w.dialogues || dialoguesFor(cx, cx.pool().length), tools);
  if (samples.length === 0) throw new LooptoolError({ code: 'internal', message: 'the warm-up stream produced no usable sample' });
  return samples;
}
