import { z } from 'zod';
import { JsonObject } from '../json.ts';
import { VARIANTS, type Variant } from './config.ts';
import { RoundEval } from './records.ts';

const variantNames = Object.keys(VARIANTS) as [Variant, ...Variant[]];
const VariantName = z.enum(variantNames);

/**
 * A finished `ablate --seeds` run or `replicate` set reduced to what `ablate --pool` and
 * `--compare` read: per seed folder, its configuration, the variants present, and for each
 * that finished its evaluations by round and the checksum of its test split (how
 * `--compare` tells whether two columns scored the same samples). No checkpoints, samples
 * or logs, so a pack is a few hundred kilobytes where the run is gigabytes: it outlives
 * the machine the run was on, and pooling seeds run on different machines needs no copy
 * of their folders.
 */
export const SeedPack = z.strictObject({
  format: z.literal('looptool-seed-pack').describe('what the file is'),
  version: z.literal(1),
  from: z.string().min(1).describe('the run folder it was packed from, as given to --pack'),
  seeds: z
    .array(
      z.strictObject({
        seedDir: z.string().regex(/^(seed|replicate)-\d+$/, 'expected seed-<i> or replicate-<k>'),
        seed: z.string().min(1).describe('the key seeds pair and pool by (readSeedsRun)'),
        config: JsonObject.describe("the seed's first variant's configuration, settings added since it ran at their defaults (withTodaysDefaults)"),
        present: z.array(VariantName).min(1),
        finished: z.partialRecord(VariantName, z.strictObject({ evals: z.array(RoundEval).min(1), testHash: z.string().min(1) })),
      }),
    )
    .min(1),
});
export type SeedPack = z.infer<typeof SeedPack>;
