import { cpus } from 'node:os';
import { resolveModelSpec } from '../agents/trainer/presets.ts';
import { WorkerProcess } from '../agents/trainer/worker-process.ts';
import { groupAdvantages } from '../protocols/grpo.ts';
import type { ModelPreset } from '../protocols/trainer.ts';
import { ensureModel } from '../runtime/models/ensure.ts';
import { intFlag, parseFlags } from '../runtime/cli/args.ts';
import { runReference } from './reference.ts';
import { defineBench } from './result.ts';

/*
 * The policy worker against the plain transformers way of doing the same work, in the same
 * run, on the same checkpoint, dtype, batch and threads (agents/trainer/worker/bench_reference.py):
 *  - SFT: sequences per second of our sft_step vs `model(input_ids, labels=...)` + AdamW;
 *  - GRPO: sequences per second of our grpo_step vs the plain per-sequence clipped loss;
 *  - generation: new tokens per second of our sampler vs `model.generate` (n samples per prompt).
 * Target (issue 16): training >= 0.9x, generation >= 1.0x.
 */

const tool = (name: string) => ({
  name,
  description: `Looks up ${name} for a place`,
  parameters: { type: 'object' as const, properties: { city: { type: 'string' as const }, days: { type: 'integer' as const } }, required: ['city'] },
});
const tools = [tool('weather'), tool('hotels')];
const prompt = (i: number) => ({ tools, messages: [{ role: 'user' as const, content: `Request ${i}: what is the weather in city number ${i} for 3 days?` }] });
const completion = (i: number) => `<tool_call>\n{"name":"weather","arguments":{"city":"City ${i}","days":3}}\n</tool_call>`;
const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

type Figures = { sft_seq_s: number; grpo_seq_s: number; gen_tok_s: number };

async function ours(preset: ModelPreset, threads: number, steps: number, shape: { batch: number; groups: number; group: number; newTokens: number }) {
  const w = await WorkerProcess.start({ threads });
  try {
    await w.load({ model: resolveModelSpec({ preset }), seed: 0, optimizer: { lr: 1e-5 } });
    const sft = Array.from({ length: shape.batch }, (_, i) => ({ prompt: prompt(i), completion: completion(i) }));
    const gp = Array.from({ length: shape.groups }, (_, i) => prompt(100 + i));
    const g = await w.generate({ prompts: gp, n: shape.group, temperature: 1, max_new_tokens: shape.newTokens, seed: 1 });
    const groups = g.results.map((r, i) => {
      const adv = groupAdvantages(r.samples.map((_, k) => (k % 3 === 0 ? 1 : 0)));
      return { prompt: gp[i]!, completions: r.samples.map((s, k) => ({ token_ids: s.token_ids, logprobs: s.logprobs, advantage: adv[k]! })) };
    });
    const time = async (fn: () => Promise<unknown>) => {
      await fn(); // warm-up: allocator, optimizer state
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) await fn();
      return (performance.now() - t0) / 1000 / steps;
    };
    const sftS = await time(() => w.sftStep({ samples: sft }));
    const grpoS = await time(() => w.grpoStep({ groups, lr: 1e-6 }));
    const t0 = performance.now();
    const gen = await w.generate({ prompts: gp, n: shape.group, temperature: 1, max_new_tokens: shape.newTokens, seed: 2 });
    const genS = (performance.now() - t0) / 1000;
    const figures: Figures = { sft_seq_s: sft.length / sftS, grpo_seq_s: (shape.groups * shape.group) / grpoS, gen_tok_s: gen.new_tokens / genS };
    return { figures, job: { sft, grpo: groups, gen: { prompts: gp, n: shape.group, max_new_tokens: shape.newTokens } } };
  } finally {
    await w.close();
  }
}

export default defineBench({
  name: 'trainer',
  summary: 'policy worker vs plain transformers on the same model: SFT and GRPO step sequences/s, generation tokens/s (nano and smollm2)',
  async run(argv) {
    const { values } = parseFlags(argv, { threads: { type: 'string' }, steps: { type: 'string' }, models: { type: 'string' } });
    const threads = intFlag(values.threads, 'threads', 2, 1);
    const steps = intFlag(values.steps, 'steps', 3, 1);
    const presets = (values.models ?? 'nano,smollm2').split(',') as ModelPreset[];
    const out: Record<string, number | string> = { threads, cores: cpus().length };
    const rows: string[] = [];
    let pass = true;
    for (const preset of presets) {
      await ensureModel({ preset });
      // SmolLM2 is 135M parameters: a smaller job keeps its run to a few minutes on 2 cores.
      const shape = preset === 'nano' ? { batch: 16, groups: 2, group: 8, newTokens: 48 } : { batch: 4, groups: 1, group: 4, newTokens: 24 };
      const a = await ours(preset, threads, steps, shape);
      const b = await runReference<Figures>({ path: resolveModelSpec({ preset }).path, threads, steps, ...a.job });
      const ratio = { sft: a.figures.sft_seq_s / b.sft_seq_s, grpo: a.figures.grpo_seq_s / b.grpo_seq_s, gen: a.figures.gen_tok_s / b.gen_tok_s };
      for (const [k, v] of Object.entries(a.figures)) out[`${preset}_ours_${k}`] = r1(v);
      for (const [k, v] of Object.entries(b)) out[`${preset}_hf_${k}`] = r1(v);
      out[`${preset}_sft_ratio`] = r3(ratio.sft);
      out[`${preset}_grpo_ratio`] = r3(ratio.grpo);
      out[`${preset}_gen_ratio`] = r3(ratio.gen);
      pass &&= ratio.sft >= 0.9 && ratio.grpo >= 0.9 && ratio.gen >= 1.0;
      rows.push(
        `${preset.padEnd(8)} sft ${r1(a.figures.sft_seq_s)} vs ${r1(b.sft_seq_s)} seq/s (${r3(ratio.sft)}x)  ` +
          `grpo ${r1(a.figures.grpo_seq_s)} vs ${r1(b.grpo_seq_s)} seq/s (${r3(ratio.grpo)}x)  ` +
          `generate ${r1(a.figures.gen_tok_s)} vs ${r1(b.gen_tok_s)} tok/s (${r3(ratio.gen)}x)`,
      );
    }
    console.log(rows.join('\n'));
    return { name: 'trainer', values: out, target: 'ours / plain transformers: sft and grpo >= 0.9x, generation >= 1.0x', pass };
  },
});
