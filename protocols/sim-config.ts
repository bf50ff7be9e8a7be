import { z } from 'zod';

/**
 * Knobs of the simulated world (the `sim` brains of the round-0 roles).
 * Every field has a default, so `SimConfig.parse({})` is the embedded default.
 */

const Rate = z.number().min(0).max(1);
const Weight = z.number().min(0);

export const KindWeights = z
  .strictObject({
    single: Weight.default(3),
    parallel: Weight.default(2),
    multiple: Weight.default(2),
    multi_step: Weight.default(2),
    clarify: Weight.default(2),
    irrelevant: Weight.default(1),
  })
  .describe('relative frequency of each request kind in a plan');

export const NoiseWeights = z
  .strictObject({
    wrong_format: Weight.default(3),
    wrong_tool: Weight.default(2),
    dropped_arg: Weight.default(2),
    extra_arg: Weight.default(2),
    wrong_value: Weight.default(2),
    missed_call: Weight.default(1),
    no_clarify: Weight.default(1),
    spurious_call: Weight.default(1),
  })
  .describe('relative frequency of each kind of teacher mistake (among those that apply to the turn)');

export const SimConfig = z.strictObject({
  designer: z
    .strictObject({
      toolsPerSet: z.number().int().min(1).max(32).default(4).describe('default size of a synthesized tool set'),
      similarRate: Rate.default(0.6).describe('probability that a tool set is built around one sub-domain (near-duplicate tools)'),
    })
    .prefault({}),
  planner: z
    .strictObject({
      targetTurns: z.number().int().min(1).max(16).default(3).describe('user requests per dialogue'),
      kinds: KindWeights.prefault({}),
      optionalRate: Rate.default(0.5).describe('probability that an optional parameter is used in a request'),
      maxParallel: z.number().int().min(2).max(6).default(3).describe('most calls in one parallel request'),
    })
    .prefault({}),
  user: z
    .strictObject({
      surfaceRate: Rate.default(0.6).describe(
        'probability that a value is written in a form the assistant must convert ("twenty", "March 3rd 2026", "3 pm", "$1.5k")',
      ),
    })
    .prefault({}),
  noise: z
    .strictObject({
      labelRate: Rate.default(0.1).describe(
        'probability that an assistant turn carries a planted teacher mistake; consistent across samples of the turn, so self-consistency does not catch it',
      ),
      kinds: NoiseWeights.prefault({}),
      sampleRate: Rate.default(0.1).describe(
        'probability that one sample of an assistant turn makes a random mistake of its own (sampling noise, caught by self-consistency)',
      ),
    })
    .prefault({}),
  tool: z
    .strictObject({
      errorRate: Rate.default(0.05).describe('probability that a valid call fails anyway (service error, not found)'),
      maxItems: z.number().int().min(1).max(10).default(3).describe('most records in a list result'),
    })
    .prefault({}),
  judge: z
    .strictObject({
      accuracy: Rate.default(0.9).describe('probability that a sim judge vote (judge_dialogue and verify) gives the true verdict'),
      noiseBlindness: Rate.default(0.5).describe(
        'probability that the judge shares a planted teacher mistake (judges a dialogue whose only errors are planted ones as if it were correct); decided per mistake, so every vote agrees',
      ),
    })
    .prefault({}),
});
export type SimConfig = z.infer<typeof SimConfig>;
export type SimConfigInput = z.input<typeof SimConfig>;

export const DEFAULT_SIM_CONFIG: SimConfig = SimConfig.parse({});
