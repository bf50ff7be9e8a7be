import { cpus } from 'node:os';
import { WorkerProcess } from '../../agents/trainer/worker-process.ts';
import { groupAdvantages } from '../../protocols/grpo.ts';
import { parseFlags, intFlag } from '../cli/args.ts';
import { defineBench } from './result.ts';

// CPU throughput of the policy worker on the real torch: SFT steps, GRPO steps and
// generation, for two tiny sizes. Prompts are tool-call prompts rendered by the worker
// (~220 tokens with the byte + JSON-structure vocabulary), Hermes completions (~40 tokens).
const tool = (name: string) => ({
  name,
  description: `Looks up ${name} for a place`,
  parameters: { type: 'object' as const, properties: { city: { type: 'string' as const }, days: { type: 'integer' as const } }, required: ['city'] },
});
const tools = [tool('weather'), tool('hotels')];
const prompt = (i: number) => ({ tools, messages: [{ role: 'user' as const, content: `Request ${i}: what is the weather in city number ${i} for 3 days?` }] });
const completion = (i: number) => `<tool_call>\n{"name":"weather","arguments":{"city":"City ${i}","days":3}}\n</tool_call>`;

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function measure(size: 'tiny-0.5m' | 'tiny-3m', threads: number, steps: number) {
  const w = await WorkerProcess.start({ threads });
  try {
    const load = await w.load({ model: { kind: 'tiny', size, max_seq_len: 512 }, seed: 0, optimizer: { lr: 1e-3 } });
    const samples = Array.from({ length: 16 }, (_, i) => ({ prompt: prompt(i), completion: completion(i) }));
    await w.sftStep({ samples }); // warm-up: allocator, optimizer state
    let sftTok = 0;
    let sftSec = 0;
    for (let i = 0; i < steps; i++) {
      const r = await w.sftStep({ samples });
      sftTok += r.tokens;
      sftSec += r.seconds;
    }
    // Generation: 4 prompts x 8 samples, 64 new tokens each (a random model rarely stops early).
    const genPrompts = [0, 1, 2, 3].map(prompt);
    await w.generate({ prompts: genPrompts.slice(0, 1), n: 2, max_new_tokens: 8, seed: 1 });
    let genTok = 0;
    let genSec = 0;
    for (let i = 0; i < steps; i++) {
      const g = await w.generate({ prompts: genPrompts, n: 8, max_new_tokens: 64, seed: 100 + i });
      genTok += g.new_tokens;
      genSec += g.seconds;
    }
    // GRPO: 2 prompts x group of 8 sampled completions, alternating rewards.
    let grpoSec = 0;
    let grpoTok = 0;
    let grpoSteps = 0;
    for (let i = 0; i < steps + 1; i++) {
      const g = await w.generate({ prompts: genPrompts.slice(0, 2), n: 8, max_new_tokens: 64, seed: 200 + i });
      const groups = g.results.map((r, j) => {
        const adv = groupAdvantages(r.samples.map((_, k) => (k % 2 === 0 ? 1 : 0)));
        return { prompt: genPrompts[j], completions: r.samples.map((s, k) => ({ token_ids: s.token_ids, logprobs: s.logprobs, advantage: adv[k] })) };
      });
      const m = await w.grpoStep({ groups });
      if (i === 0) continue; // warm-up
      grpoSec += m.seconds;
      grpoTok += m.tokens;
      grpoSteps++;
    }
    return {
      params: load.model.params,
      sft_tok_s: sftTok / sftSec,
      gen_tok_s: genTok / genSec,
      grpo_step_s: grpoSec / grpoSteps,
      grpo_tok_s: grpoTok / grpoSec,
    };
  } finally {
    await w.close();
  }
}

export default defineBench({
  name: 'trainer',
  summary: 'policy worker on the CPU: SFT / GRPO step / generation tokens per second for tiny-0.5m and tiny-3m',
  async run(argv) {
    const { values } = parseFlags(argv, { threads: { type: 'string' }, steps: { type: 'string' } });
    const threads = intFlag(values.threads, 'threads', 1, 1);
    const steps = intFlag(values.steps, 'steps', 3, 1);
    const out: Record<string, number | string> = { threads, cores: cpus().length };
    const rows: string[] = [];
    for (const size of ['tiny-0.5m', 'tiny-3m'] as const) {
      const r = await measure(size, threads, steps);
      const k = size.replace('tiny-', '').replace('.', '_');
      out[`params_${k}`] = r.params;
      out[`sft_tok_s_${k}`] = round(r.sft_tok_s, 0);
      out[`gen_tok_s_${k}`] = round(r.gen_tok_s, 0);
      out[`grpo_step_s_${k}`] = round(r.grpo_step_s, 3);
      out[`grpo_tok_s_${k}`] = round(r.grpo_tok_s, 0);
      rows.push(
        `${size.padEnd(10)} ${(r.params / 1e6).toFixed(2)}M params  sft ${round(r.sft_tok_s, 0)} tok/s  generate ${round(r.gen_tok_s, 0)} tok/s  ` +
          `grpo step (2 prompts x 8) ${round(r.grpo_step_s, 3)} s = ${round(r.grpo_tok_s, 0)} tok/s`,
      );
    }
    console.log(rows.join('\n'));
    // DESIGN.md §4: ~10k tok/s for a 0.5M GPT on one core with OpenBLAS; a GRPO step of a group of 8 ~0.2 s.
    const pass = (out.sft_tok_s_0_5m as number) >= 5000 && (out.grpo_step_s_0_5m as number) <= 0.5;
    return { name: 'trainer', values: out, target: 'tiny-0.5m on one core: sft >= 5k tok/s, GRPO step (2 groups of 8) <= 0.5 s', pass };
  },
});
