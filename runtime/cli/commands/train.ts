import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { intFlag, numFlag, parseFlags } from '../args.ts';
import { bold, dim, Progress } from '../../terminal.ts';
import { readConfigFile } from '../config-file.ts';
import { RunConfig } from '../../../protocols/config.ts';
import { describeIssues, formatIssues, isLooptoolError } from '../../../protocols/errors.ts';
import { LossAggregation } from '../../../protocols/grpo.ts';
import { PolicyContract, TrainerContract } from '../../../protocols/roles/trainer.ts';
import type { ModelSpec } from '../../../protocols/trainer.ts';
import { modelSpecFromArg } from '../../../agents/trainer/index.ts';
import { builtinRoles } from '../../roles.ts';
import { publicView, type Sample } from '../../../protocols/sample.ts';
import { rewardFromText } from '../../../protocols/toolcalls/index.ts';
import type { TraceEvent } from '../../../protocols/trace.ts';
import { modelName, resolveTrainerDefaults, TrainerConfig } from '../../../protocols/trainer.ts';
import { busConfigFromEnv } from '../../bus/connect.ts';
import { runIdForDir } from '../../live-runs.ts';
import { LooptoolNode } from '../../bus/node.ts';
import { readSamples } from '../../corpus.ts';
import { newRunId, readJsonIfExists, runsRoot, writeJsonAtomic } from '../../rundir.ts';
import { storedRunConfig } from '../../run-config.ts';
import { intSeed, rng } from '../../../protocols/rng.ts';
import { interruptOnSignals } from '../interrupt.ts';

/*
 * `looptool train`: the policy trained on a corpus of samples, outside the loop. A
 * supervised warm-up (trainer.sft), then one GRPO round (trainer.grpo), both through
 * the bus to the trainer agent served in this process (embedded nats-server unless
 * NATS_URL / --nats), with a held-out split answered greedily (policy.generate) before
 * and after each phase, so the effect of each phase is visible. State is kept in the
 * output directory: run the same command again and finished phases are not redone
 * (the trainer resumes from the run's latest checkpoint).
 */

const PhaseRecord = z.looseObject({ done: z.literal(true) });
const TrainState = z.object({
  corpus: z.string(),
  train: z.number().int(),
  heldOut: z.number().int(),
  phases: z.record(z.string(), PhaseRecord).default({}),
});
type TrainState = z.infer<typeof TrainState>;

type EvalResult = { accuracy: number; correct: number; total: number; byKind: Record<string, { correct: number; total: number }>; seconds: number };

function modelSpec(model: string | undefined, base: TrainerConfig['model']): ModelSpec {
  if (model === undefined) return base;
  try {
    const spec = modelSpecFromArg(model);
    // a checkpoint records its base model's identity, which training from it would lose
    if (spec.path && ['meta.json', 'manifest.json'].some((f) => existsSync(join(spec.path!, f))))
      throw new Error(`--model ${model} is a loop run or a trainer checkpoint: train starts from a preset or a Hugging Face model directory (serve and eval bfcl run load checkpoints and runs)`);
    return spec;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const f3 = (x: number) => x.toFixed(3);

export default defineCommand({
  name: 'train',
  summary: 'train the policy on a JSONL corpus of samples: supervised warm-up, then GRPO, with a held-out split scored before and after',
  usage:
    'train <samples.jsonl> [--model nano|smollm2|HF_DIR] [--warmup-epochs N] [--warmup-lr LR] ' +
    '[--group-size G] [--lr LR] [--epochs N] [--batch-size B] [--kl BETA] [--clip-low E] [--clip-high E] [--loss token-mean|seq-mean|dr-grpo] ' +
    '[--max-new-tokens N] [--temperature T] [--limit N] [--eval-split FRACTION] [--seed N] [--threads N] [--config FILE] [--out runs/<id>] [--nats URL] [--json]',
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      {
        model: { type: 'string' },
        'warmup-epochs': { type: 'string' },
        'warmup-lr': { type: 'string' },
        'group-size': { type: 'string' },
        lr: { type: 'string' },
        epochs: { type: 'string' },
        'batch-size': { type: 'string' },
        kl: { type: 'string' },
        'clip-low': { type: 'string' },
        'clip-high': { type: 'string' },
        loss: { type: 'string' },
        'max-new-tokens': { type: 'string' },
        temperature: { type: 'string' },
        limit: { type: 'string' },
        'eval-split': { type: 'string' },
        seed: { type: 'string' },
        threads: { type: 'string' },
        config: { type: 'string' },
        out: { type: 'string' },
        nats: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      true,
    );
    // train prints its own progress and summary; role info lines would only interleave (warnings still show)
    process.env.LOOPTOOL_LOG_LEVEL ??= 'warn';
    if (positionals.length !== 1) throw new UsageError('name one corpus file (JSONL samples, e.g. runs/<id>/round-0/samples.jsonl)');
    const corpusPath = resolve(positionals[0]!);
    if (!existsSync(corpusPath)) throw new UsageError(`${positionals[0]}: no such file`);

    // ---- settings: config file, then flags
    const given = readConfigFile(values.config);
    const seed = intFlag(values.seed, 'seed', given.trainer.seed ?? 0, 0);
    const evalSplit = numFlag(values['eval-split'], 'eval-split', 0.1);
    if (evalSplit < 0 || evalSplit >= 1) throw new UsageError(`--eval-split expects a fraction in [0, 1), got ${evalSplit}`);
    const lossFlag = values.loss === undefined ? undefined : LossAggregation.safeParse(values.loss);
    if (lossFlag && !lossFlag.success) throw new UsageError(`--loss expects ${LossAggregation.options.join(' | ')}, got "${values.loss}"`);
    const positive = (v: string | undefined, name: string) => {
      if (v === undefined) return undefined;
      const n = numFlag(v, name, 0);
      if (!(n > 0)) throw new UsageError(`--${name} expects a number > 0, got "${v}"`);
      return n;
    };
    const nonNeg = (v: string | undefined, name: string) => {
      if (v === undefined) return undefined;
      const n = numFlag(v, name, 0);
      if (n < 0) throw new UsageError(`--${name} expects a number >= 0, got "${v}"`);
      return n;
    };
    const t = given.trainer;
    const trainerIn = {
      ...t,
      seed,
      model: modelSpec(values.model, t.model),
      threads: values.threads === undefined ? t.threads : intFlag(values.threads, 'threads', 1, 1),
      warmup: {
        ...t.warmup,
        ...(values['warmup-epochs'] !== undefined ? { epochs: intFlag(values['warmup-epochs'], 'warmup-epochs', 0, 0) } : {}),
        ...(values['warmup-lr'] !== undefined ? { lr: positive(values['warmup-lr'], 'warmup-lr') } : {}),
      },
      grpo: {
        ...t.grpo,
        ...(values['group-size'] !== undefined ? { group_size: intFlag(values['group-size'], 'group-size', 8, 2) } : {}),
        ...(values.lr !== undefined ? { lr: positive(values.lr, 'lr') } : {}),
        ...(values.epochs !== undefined ? { epochs: intFlag(values.epochs, 'epochs', 1, 1) } : {}),
        ...(values['batch-size'] !== undefined ? { batch_size: intFlag(values['batch-size'], 'batch-size', 8, 1) } : {}),
        ...(values.kl !== undefined ? { beta: nonNeg(values.kl, 'kl') } : {}),
        ...(values['clip-low'] !== undefined ? { eps_low: nonNeg(values['clip-low'], 'clip-low') } : {}),
        ...(values['clip-high'] !== undefined ? { eps_high: nonNeg(values['clip-high'], 'clip-high') } : {}),
        ...(lossFlag?.success ? { aggregation: lossFlag.data } : {}),
        ...(values['max-new-tokens'] !== undefined ? { max_new_tokens: intFlag(values['max-new-tokens'], 'max-new-tokens', 160, 1) } : {}),
        ...(values.temperature !== undefined ? { temperature: positive(values.temperature, 'temperature') } : {}),
      },
    };
    const tr = TrainerConfig.safeParse(trainerIn);
    if (!tr.success) throw new UsageError(formatIssues(describeIssues(tr.error, 'trainer')));
    const config: RunConfig = { ...given, trainer: tr.data };
    const plan = resolveTrainerDefaults(tr.data);

    // ---- corpus: validated on read (errors name the line and the field)
    let samples: Sample[];
    try {
      samples = readSamples(corpusPath).filter((s) => !s.masked);
    } catch (err) {
      if (isLooptoolError(err)) {
        console.error(`looptool train: ${err.message}`);
        return EXIT.failed;
      }
      throw err;
    }
    if (samples.length === 0) throw new UsageError(`${positionals[0]}: no unmasked samples`);
    // The split is seeded and stable: the same corpus and seed give the same held-out set.
    let ordered = rng(String(seed), 'split').shuffle(samples);
    if (values.limit !== undefined) ordered = ordered.slice(0, intFlag(values.limit, 'limit', ordered.length, 2));
    const heldN = evalSplit > 0 ? Math.max(1, Math.round(ordered.length * evalSplit)) : 0;
    const heldOut = ordered.slice(0, heldN);
    const train = ordered.slice(heldN);
    if (train.length === 0) throw new UsageError('nothing left to train on after the held-out split; lower --eval-split');

    // ---- run directory and state
    const outDir = resolve(values.out ?? join(runsRoot(), newRunId('train')));
    const run = runIdForDir(outDir);
    mkdirSync(outDir, { recursive: true });
    const statePath = join(outDir, 'train.json');
    const prior = TrainState.safeParse(readJsonIfExists(statePath));
    let state: TrainState = { corpus: corpusPath, train: train.length, heldOut: heldOut.length, phases: {} };
    if (prior.success) {
      if (prior.data.corpus !== corpusPath || prior.data.train !== train.length || prior.data.heldOut !== heldOut.length)
        throw new UsageError(`${outDir} holds a training run on another corpus or split (${prior.data.corpus}); use a new --out`);
      state = prior.data;
    }
    writeJsonAtomic(join(outDir, 'config.json'), storedRunConfig(config));
    const save = () => writeJsonAtomic(statePath, state);
    save();

    const json = values.json;
    const say = (s: string) => {
      if (!json) console.error(s);
    };
    const node = await LooptoolNode.start({ run, runDir: outDir, bus: busConfigFromEnv({ url: values.nats }), config: config as unknown as Record<string, unknown> });
    const interrupt = interruptOnSignals();
    // Ctrl-C does not wait for a long bus call: the call is dropped here, and stopping
    // the node stops the trainer (the worker's current step is cut short). Nothing of
    // a phase that did not finish is kept: it runs again from the last checkpoint.
    const interruptible = <T>(p: Promise<T>): Promise<T> =>
      new Promise<T>((res, rej) => {
        const onAbort = () => rej(new Error('interrupted'));
        if (interrupt.signal.aborted) return onAbort();
        interrupt.signal.addEventListener('abort', onAbort, { once: true });
        p.then(res, rej).finally(() => interrupt.signal.removeEventListener('abort', onAbort));
      });
    let unwatch = () => {};
    const t0 = performance.now();
    try {
      say(dim(`bus ${node.url ?? '(cluster)'}${node.embedded ? ' (embedded nats-server)' : ''}, run ${run}; starting the policy worker…`));
      for (const r of await builtinRoles('train')) await node.serve(r);
      say(
        dim(
          `corpus ${relative(process.cwd(), corpusPath) || corpusPath}: ${train.length} train, ${heldOut.length} held out; model ${modelName(tr.data.model)}`,
        ),
      );

      // Progress bars and step metrics from the trainer's trace events.
      let bar: Progress | undefined;
      let barPhase = '';
      const steps: Record<string, unknown>[] = [];
      const onTrace = (e: TraceEvent) => {
        const data = (e.data ?? {}) as Record<string, unknown>;
        if (e.kind === 'metric' && (data.kind === 'grpo_step' || data.kind === 'grpo_rollout' || data.kind === 'sft_step')) steps.push(data);
        if (e.kind === 'progress' && !json && typeof data.done === 'number' && typeof data.total === 'number') {
          const phase = String(data.phase ?? '');
          if (phase !== barPhase || !bar) {
            bar?.end();
            bar = new Progress(phase === 'sft' ? 'warm-up' : phase, data.total);
            barPhase = phase;
          }
          const note =
            typeof data.loss === 'number' ? `loss ${f3(data.loss)}` : typeof data.reward_mean === 'number' ? `reward ${f3(data.reward_mean)}` : '';
          bar.set(data.done, note);
        }
      };
      unwatch = node.watchTraces('trainer', ['progress', 'metric'], onTrace);
      const endBar = () => {
        bar?.end();
        bar = undefined;
        barPhase = '';
      };

      const evaluate = async (tag: string): Promise<EvalResult | null> => {
        if (heldOut.length === 0) return null;
        const key = `eval_${tag}`;
        const cached = state.phases[key] as unknown as EvalResult | undefined;
        if (cached) return cached;
        const e0 = performance.now();
        const ebar = json ? undefined : new Progress(`held-out (${tag})`, heldOut.length);
        const byKind: EvalResult['byKind'] = {};
        let correct = 0;
        const batch = 16;
        for (let i = 0; i < heldOut.length; i += batch) {
          if (interrupt.signal.aborted) throw new Error('interrupted');
          const part = heldOut.slice(i, i + batch);
          const out = await interruptible(node.call(PolicyContract, 'generate', {
            prompts: part.map((s) => ({ tools: s.tools, messages: s.context })),
            n: 1,
            temperature: 0,
            max_new_tokens: plan.grpo.max_new_tokens,
          }));
          out.results.forEach((r, j) => {
            const s = part[j]!;
            const ok = rewardFromText(r.samples[0]?.text ?? '', s.label).reward;
            correct += ok;
            const k = (byKind[s.kind] ??= { correct: 0, total: 0 });
            k.correct += ok;
            k.total++;
          });
          ebar?.set(Math.min(heldOut.length, i + batch), `accuracy ${pct(correct / Math.min(heldOut.length, i + batch))}`);
        }
        ebar?.end();
        const res: EvalResult = { accuracy: correct / heldOut.length, correct, total: heldOut.length, byKind, seconds: (performance.now() - e0) / 1000 };
        state.phases[key] = { done: true, ...res };
        save();
        return res;
      };

      const before = await evaluate('before');
      if (before) say(`held-out accuracy before training: ${pct(before.accuracy)} (${before.correct}/${before.total})`);

      const pub = train.map((s) => publicView(s) as Sample);
      let sft = state.phases.warmup as Record<string, unknown> | undefined;
      if (!sft && plan.warmup.epochs > 0) {
        const out = await interruptible(node.call(
          TrainerContract,
          'sft',
          { samples: pub, epochs: plan.warmup.epochs, batch_size: plan.warmup.batch_size, lr: plan.warmup.lr, seed: intSeed(seed, 'warmup'), reset_optimizer: true },
          { retries: 0 },
        ));
        endBar();
        sft = { done: true, ...out };
        state.phases.warmup = sft as TrainState['phases'][string];
        save();
      }
      if (sft) say(`warm-up: ${sft.steps} steps, loss ${f3(sft.loss_first as number)} → ${f3(sft.loss_last as number)}`);
      const afterWarmup = plan.warmup.epochs > 0 ? await evaluate('after_warmup') : null;
      if (afterWarmup) say(`held-out accuracy after warm-up: ${pct(afterWarmup.accuracy)}`);

      let grpo = state.phases.grpo as Record<string, unknown> | undefined;
      if (!grpo) {
        const out = await interruptible(node.call(
          TrainerContract,
          'grpo',
          { samples: pub, round: 1, batch_size: plan.batch_size, seed: intSeed(seed, 'grpo'), settings: plan.grpo },
          { retries: 0 },
        ));
        endBar();
        grpo = { done: true, ...out };
        state.phases.grpo = grpo as TrainState['phases'][string];
        save();
      }
      const after = await evaluate('after');

      // ---- summary
      const grpoSteps = steps.filter((s) => s.kind === 'grpo_step');
      const rollouts = steps.filter((s) => s.kind === 'grpo_step' || s.kind === 'grpo_rollout');
      const byEpoch = (list: Record<string, unknown>[]) => {
        const sums: { n: number; r: number }[] = [];
        for (const s of list) {
          const e = Number(s.epoch);
          const n = Number(s.rollouts ?? 1);
          sums[e] ??= { n: 0, r: 0 };
          sums[e].n += n;
          sums[e].r += Number(s.reward_mean) * n;
        }
        return sums.filter(Boolean).map((x) => x.r / x.n);
      };
      const tokS = (list: Record<string, unknown>[]) => {
        const tok = list.reduce((a, s) => a + Number(s.tokens ?? 0), 0);
        const sec = list.reduce((a, s) => a + Number(s.seconds ?? 0), 0);
        return sec > 0 ? tok / sec : null;
      };
      const summary = {
        run,
        out: outDir,
        corpus: corpusPath,
        model: tr.data.model,
        train: train.length,
        held_out: heldOut.length,
        warmup: sft ? { epochs: plan.warmup.epochs, lr: plan.warmup.lr, steps: sft.steps, loss_first: sft.loss_first, loss_last: sft.loss_last, seconds: sft.seconds } : null,
        grpo: {
          settings: plan.grpo,
          batch_size: plan.batch_size,
          steps: grpo.steps,
          reward_first: grpo.reward_first,
          reward_last: grpo.reward_last,
          reward_mean: grpo.reward_mean,
          seconds: grpo.seconds,
        },
        reward_by_batch: rollouts.map((s) => s.reward_mean as number),
        // Every epoch rolls out on the same prompts: epoch means compare like with like,
        // where single batches differ by which prompts they hold.
        reward_by_epoch: byEpoch(rollouts),
        held_out_accuracy: { before: before?.accuracy ?? null, after_warmup: afterWarmup?.accuracy ?? null, after: after?.accuracy ?? null },
        held_out_by_kind: after?.byKind ?? null,
        tokens_per_s: { sft: tokS(steps.filter((s) => s.kind === 'sft_step')), grpo: tokS(grpoSteps) },
        seconds: (performance.now() - t0) / 1000,
        checkpoint: (grpo.checkpoint as string | null) ?? (sft?.checkpoint as string | null) ?? null,
      };
      writeJsonAtomic(join(outDir, 'train-summary.json'), summary);
      if (json) console.log(JSON.stringify(summary));
      else {
        const rb = summary.reward_by_batch;
        const q = Math.max(1, Math.floor(rb.length / 4));
        const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
        console.log(
          [
            `${bold('train')}: ${train.length} samples (${heldOut.length} held out), ${summary.seconds.toFixed(1)} s`,
            sft ? `warm-up   ${sft.steps} steps, loss ${f3(sft.loss_first as number)} → ${f3(sft.loss_last as number)}` : 'warm-up   skipped',
            `GRPO      ${grpo.steps} steps, rollout reward ${f3(grpo.reward_first as number)} → ${f3(grpo.reward_last as number)} (mean ${f3(grpo.reward_mean as number)}` +
              (rb.length >= 4 ? `; first quarter ${f3(avg(rb.slice(0, q)))}, last quarter ${f3(avg(rb.slice(-q)))})` : ')'),
            ...(summary.reward_by_epoch.length > 1 ? [`          rollout reward per epoch (same prompts): ${summary.reward_by_epoch.map(f3).join(' → ')}`] : []),
            heldOut.length
              ? `held-out  greedy accuracy ${pct(before!.accuracy)} before → ${afterWarmup ? `${pct(afterWarmup.accuracy)} after warm-up → ` : ''}${pct(after!.accuracy)} after GRPO`
              : 'held-out  none (--eval-split 0)',
            `speed     ${summary.tokens_per_s.sft ? `sft ${summary.tokens_per_s.sft.toFixed(0)} tok/s, ` : ''}grpo ${summary.tokens_per_s.grpo ? summary.tokens_per_s.grpo.toFixed(0) : '-'} tok/s`,
            `checkpoint ${summary.checkpoint ? relative(process.cwd(), summary.checkpoint) || summary.checkpoint : '(none)'}`,
            dim(`summary in ${relative(process.cwd(), join(outDir, 'train-summary.json'))}`),
          ].join('\n'),
        );
      }
      return interrupt.interrupted ? EXIT.interrupted : EXIT.ok;
    } catch (err) {
      if (interrupt.interrupted) {
        console.error('looptool train: interrupted; run the same command again to continue from the last finished phase');
        return EXIT.interrupted;
      }
      throw err;
    } finally {
      interrupt.dispose();
      unwatch();
      await node.stop();
    }
  },
});
