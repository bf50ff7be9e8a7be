import { defineRole } from '../../protocols/role.ts';
import { PolicyContract } from '../../protocols/roles/trainer.ts';
import { ProberContract } from '../../protocols/roles/prober.ts';
import { judgeCompletion, policyTool } from './probe.ts';

/**
 * The prober: Greedy Capability Probing over the bus. One request probes a batch of
 * samples with one `policy.generate` call (greedy, temperature 0), so the policy can
 * decode them together. The generate request's id derives from the probe request's,
 * so a retried probe is answered from the policy host's cache instead of decoding twice.
 * No brain: it only measures.
 */
export default defineRole({
  contract: ProberContract,
  concurrency: 4,
  verbs: {
    probe: {
      async handle({ samples, max_new_tokens }, ctx) {
        const prompts = samples.map((s) => ({ tools: s.tools.map(policyTool), messages: s.context }));
        const out = await ctx.call(PolicyContract, 'generate', { prompts, n: 1, temperature: 0, max_new_tokens }, { id: `${ctx.msg}.generate` });
        if (out.results.length !== samples.length)
          throw new Error(`policy.generate answered ${out.results.length} results for ${samples.length} prompts`);
        const results = samples.map((s, i) => {
          const g = out.results[i]!.samples[0];
          if (!g) throw new Error(`policy.generate gave no sample for prompt ${i}`);
          return judgeCompletion(s.id, s.label, { text: g.text, ppl: g.ppl, tokens: g.tokens });
        });
        ctx.emit('metric', { probed: results.length, mastered: results.filter((r) => r.mastered).length });
        return { results, model: out.model };
      },
    },
  },
});
