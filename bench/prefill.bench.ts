import { cpus } from 'node:os';
import { resolveModelSpec } from '../agents/trainer/presets.ts';
import { WorkerProcess } from '../agents/trainer/worker-process.ts';
import type { ModelPreset } from '../protocols/trainer.ts';
import type { ToolSpec } from '../protocols/toolspec.ts';
import { ensureModel } from '../runtime/models/ensure.ts';
import { intFlag, parseFlags } from '../runtime/cli/args.ts';
import { defineBench } from './result.ts';

/*
 * Prefix-shared prefill in the worker's generate: an evaluation's prompts, many per tool
 * set, answered greedily with `prefix_sharing` on (prompts of one tool set batch together
 * and their shared chat header and tools block prefill once) and off (request order, every
 * prompt prefilled whole), by one worker, alternating, best of --repeats each. The prompts
 * are shaped like the demo's test split: two tool sets of two tools with a few simple
 * parameters, one short request each, so the tools block is most of every prompt.
 * Target: the same answers, token for token, and a ratio above 1.
 */

const param = (type: 'string' | 'integer', description: string) => ({ type, description });
const tool = (name: string, description: string, properties: Record<string, ReturnType<typeof param>>, required: string[]): ToolSpec => ({
  name,
  description,
  parameters: { type: 'object', properties, required },
});
const TOOL_SETS: ToolSpec[][] = [
  [
    tool('cancel_appointment', 'Cancel a booked appointment.', { appointment_id: param('string', 'Appointment identifier, e.g. APT-12345'), reason: param('string', 'Why it is cancelled') }, ['appointment_id']),
    tool('get_step_count', 'Get the step count for a day.', { date: param('string', 'Day in YYYY-MM-DD'), user_id: param('string', 'User identifier') }, ['date']),
  ],
  [
    tool('track_order', 'Track the delivery status of an order.', { order_id: param('string', 'Order identifier, e.g. ORD-12345') }, ['order_id']),
    tool('check_inventory', 'Check how many units of a product are in stock.', { sku: param('string', 'Product SKU'), warehouse: param('string', 'Warehouse name'), limit: param('integer', 'Most rows to return') }, ['sku']),
  ],
];
const REQUESTS = [
  (i: number) => `Please cancel my appointment APT-${10000 + i * 37}.`,
  (i: number) => `How many steps did I take on 2026-0${1 + (i % 9)}-1${i % 10}?`,
  (i: number) => `Where is my order ORD-${20000 + i * 53}? It has been a while.`,
  (i: number) => `Do we still have SKU PRD-${30000 + i * 71} in the ${['north', 'south', 'east'][i % 3]} warehouse?`,
];

function prompts(count: number) {
  return Array.from({ length: count }, (_, i) => {
    const set = i % 2;
    const ask = REQUESTS[set * 2 + ((i >> 1) % 2)]!;
    return { tools: TOOL_SETS[set]!, messages: [{ role: 'user' as const, content: ask(i) }] };
  });
}

export default defineBench({
  name: 'prefill',
  summary: "generate with and without prefix-shared prefill on demo-shaped evaluation prompts: seconds, the ratio, identical answers",
  async run(argv) {
    const { values } = parseFlags(argv, { threads: { type: 'string' }, prompts: { type: 'string' }, repeats: { type: 'string' }, model: { type: 'string' }, 'max-new-tokens': { type: 'string' } });
    const threads = intFlag(values.threads, 'threads', 2, 1);
    const count = intFlag(values.prompts, 'prompts', 240, 2);
    const repeats = intFlag(values.repeats, 'repeats', 2, 1);
    const maxNew = intFlag(values['max-new-tokens'], 'max-new-tokens', 96, 1);
    const preset = (values.model ?? 'nano') as ModelPreset;
    await ensureModel({ preset });
    const ps = prompts(count);
    const w = await WorkerProcess.start({ threads });
    try {
      await w.load({ model: resolveModelSpec({ preset }), seed: 0 });
      const run = async (share: boolean) => {
        const t0 = performance.now();
        const r = await w.generate({ prompts: ps, greedy: true, temperature: 0, max_new_tokens: maxNew, prefix_sharing: share });
        return { seconds: (performance.now() - t0) / 1000, answers: r.results.map((x) => x.samples[0]!.token_ids.join(',')), prompt_tokens: r.results.reduce((a, x) => a + x.prompt_tokens, 0), new_tokens: r.new_tokens };
      };
      await run(true); // warm-up: allocator, kernels
      const shared: number[] = [];
      const plain: number[] = [];
      let same = true;
      let last: Awaited<ReturnType<typeof run>> | undefined;
      for (let k = 0; k < repeats; k++) {
        const a = await run(true);
        const b = await run(false);
        shared.push(a.seconds);
        plain.push(b.seconds);
        same &&= a.answers.every((x, i) => x === b.answers[i]);
        last = a;
      }
      const best = (xs: number[]) => Math.min(...xs);
      const ratio = best(plain) / best(shared);
      const r2 = (x: number) => Math.round(x * 100) / 100;
      console.log(
        `${preset}: ${count} prompts (${Math.round(last!.prompt_tokens / count)} tokens each on average, ${last!.new_tokens} new tokens), ${threads} threads, best of ${repeats}: ` +
          `shared ${r2(best(shared))} s, whole ${r2(best(plain))} s, ${r2(ratio)}x; answers ${same ? 'identical' : 'DIFFER'}`,
      );
      return {
        name: 'prefill',
        values: { model: preset, threads, cores: cpus().length, prompts: count, prompt_tokens_mean: Math.round(last!.prompt_tokens / count), shared_s: r2(best(shared)), whole_s: r2(best(plain)), ratio: r2(ratio), identical_answers: same },
        target: 'the same greedy answers with and without sharing, and sharing faster (ratio > 1)',
        pass: same && ratio > 1,
      };
    } finally {
      await w.close();
    }
  },
});
