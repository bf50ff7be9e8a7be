import { z } from 'zod';
import { Skill } from './sample.ts';

/**
 * Knobs of the simulated world (the `sim` brains of the round-0 roles).
 * Every field has a default, so `SimConfig.parse({})` is the embedded default.
 */

const Rate = z.number().min(0).max(1);
const Weight = z.number().min(0);

/** Legacy: request-kind weights, from before skills. Accepted as `sim.planner.kinds` and turned into `sim.skills.mix`. */
export const KindWeights = z
  .strictObject({
    single: Weight.default(3),
    parallel: Weight.default(2),
    multiple: Weight.default(2),
    multi_step: Weight.default(2),
    clarify: Weight.default(2),
    irrelevant: Weight.default(1),
  })
  .describe('legacy: relative frequency of each request kind; translated into sim.skills.mix (set one of the two)');

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


/**
 * The default mix is skewed on purpose, as real traffic is: plain copying and number
 * words are common, parallel and multi-step requests rare. The loop has weak, rare
 * skills to find; a uniform mix (a test split) is one config away.
 */
export const SkillMix = z
  .strictObject({
    copy_identifier: Weight.default(4),
    number_words: Weight.default(3),
    near_duplicate_tools: Weight.default(2),
    dates_formats: Weight.default(2),
    clarify_missing: Weight.default(1.5),
    enum_mapping: Weight.default(1),
    irrelevant_request: Weight.default(1),
    parallel_calls: Weight.default(0.75),
    multi_step_reference: Weight.default(0.5),
  })
  .describe(
    'relative frequency of each skill among the samples a plan yields (a request is drawn per skill; the extra call turns of multi-step and clarify requests draw a single-call skill, and the draw compensates for them). A skill the tool set cannot serve is skipped.',
  );
export type SkillMix = z.infer<typeof SkillMix>;

const Level = z.number().int().min(1).max(3);

export const SkillDifficulty = z
  .strictObject({
    near_duplicate_tools: Level.default(2).describe(
      'the target tool\'s look-alikes in the set: 1 = one sibling with another action and a different name; 2 = several siblings or a close name; 3 = several siblings, one with the same action or a name differing by one word (the tool set comes from the designer: the planner picks the target that fits)',
    ),
    copy_identifier: Level.default(2).describe('identifier length and shape: 1 = short ("FL-482"); 2 = standard ("FL-48213"); 3 = long and mixed ("FL-7QX2-48213")'),
    number_words: Level.default(2).describe(
      'the surface form: 1 = one word ("seven"); 2 = compound words ("twenty-five"); 3 = hundreds, dozens, shorthand ("two hundred and fifty", "a dozen", "$1.5k", "an hour and a half")',
    ),
    dates_formats: Level.default(2).describe(
      'the format: 1 = month first ("March 3rd 2026", "3 pm"); 2 = day first ("the 3rd of March 2026", "3:30 PM"); 3 = abbreviated, numeric or in words ("Mar 3 \'26", "3/14/2026", "half past three in the afternoon")',
    ),
    enum_mapping: Level.default(2).describe(
      'the mapping: 1 = case or spacing ("Premium economy" -> premium_economy); 2 = a synonym ("pricey" -> expensive); 3 = a name to a code ("euros" -> EUR, "French" -> fr); a level the tool set cannot serve falls back to the nearest one',
    ),
    parallel_calls: Level.default(2).describe('the number of calls: level + 1 (2, 3 or 4); at most sim.planner.maxParallel'),
    multi_step_reference: Level.default(2).describe(
      'depth: 1 = two calls, a field of the same name from a single record ("with that"); 2 = two calls, from a list or a differently named field ("for the first one"); 3 = three chained calls',
    ),
    clarify_missing: Level.default(2).describe(
      'what is missing: 1 = one required value, and the request names it without a value ("I\'ll tell you the date"); 2 = one required value, not mentioned; 3 = two required values, not mentioned',
    ),
    irrelevant_request: Level.default(2).describe(
      'how close the off-topic request is to the tools: 1 = another topic altogether ("tell me a joke"); 2 = about the tools\' subject but not an action ("any tips about flights?"); 3 = an action on the tools\' subject that no tool offers ("cancel the flights" with no cancel tool)',
    ),
  })
  .describe('per skill, the level 1..3 requests are generated at (EDDE keeps the error seed\'s level)');
export type SkillDifficulty = z.infer<typeof SkillDifficulty>;

const SkillRates = z
  .strictObject(Object.fromEntries(Skill.options.map((k) => [k, Rate.optional()])) as Record<Skill, z.ZodOptional<typeof Rate>>)
  .describe('per skill, a rate that replaces noise.labelRate for turns of that primary skill, with the skill\'s own systematic mistake');

function JudgeKnobs(blindness: number) {
  return z.strictObject({
    accuracy: Rate.default(0.9).describe('probability that a vote gives the verdict the judge perceives (otherwise another verdict, by the vote\'s own seed)'),
    noiseBlindness: Rate.default(blindness).describe(
      'probability that the judge shares a planted teacher mistake (takes the wrong label for right); decided per mistake (per sample for verify), so every vote agrees',
    ),
    blindSkills: z
      .array(Skill)
      .default([])
      .describe('skills whose planted mistakes the judge never sees (a systematic blind spot), whatever noiseBlindness says'),
  });
}

export const SimConfigObject = z.strictObject({
  designer: z
    .strictObject({
      toolsPerSet: z.number().int().min(1).max(32).default(4).describe('default size of a synthesized tool set'),
      similarRate: Rate.default(0.6).describe('probability that a tool set is built around one sub-domain (near-duplicate tools)'),
    })
    .prefault({}),
  planner: z
    .strictObject({
      targetTurns: z.number().int().min(1).max(16).default(3).describe('user requests per dialogue'),
      optionalRate: Rate.default(0.5).describe('probability that an optional parameter is used in a request'),
      maxParallel: z.number().int().min(2).max(6).default(3).describe('most calls in one parallel request'),
    })
    .prefault({}),
  skills: z
    .strictObject({
      mix: SkillMix.prefault({}),
      difficulty: SkillDifficulty.prefault({}),
    })
    .prefault({})
    .describe('what the requests exercise: the skill mix and the level of each skill'),
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
      bySkill: SkillRates.prefault({}).describe(
        'systematic label mistakes planted in chosen skills, e.g. {number_words: 0.3}: a turn of that primary skill carries the skill\'s typical mistake (a misread number, day and month swapped, a look-alike tool, a call missed, an identifier with two digits swapped, a neighbouring option, a value invented instead of read from the result, no question asked, a call where none serves) at this rate instead of labelRate; consistent across samples of the turn',
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
      dialogue: JudgeKnobs(0.5).prefault({}).describe('judge_dialogue: round-0 and expansion validation (majority of votes)'),
      verify: JudgeKnobs(0).prefault({}).describe('verify: JGLV, label against prediction on a failed sample'),
    })
    .prefault({}),
});

const SINGLE_SKILLS: Skill[] = ['copy_identifier', 'number_words', 'dates_formats', 'enum_mapping'];
const KIND_SKILLS: Record<keyof z.infer<typeof KindWeights>, Skill[]> = {
  single: SINGLE_SKILLS,
  multiple: ['near_duplicate_tools'],
  parallel: ['parallel_calls'],
  multi_step: ['multi_step_reference'],
  clarify: ['clarify_missing'],
  irrelevant: ['irrelevant_request'],
};

/** A kind-weight table as a skill mix: each kind's weight shared among its skills as in the default mix. */
export function mixFromKinds(kinds: z.input<typeof KindWeights>): SkillMix {
  const k = KindWeights.parse(kinds);
  const base = SkillMix.parse({});
  const out = {} as SkillMix;
  for (const [kind, skills] of Object.entries(KIND_SKILLS) as [keyof typeof k, Skill[]][]) {
    const total = skills.reduce((a, s) => a + base[s], 0);
    for (const s of skills) out[s] = total > 0 ? (k[kind] * base[s]) / total : 0;
  }
  return out;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * `sim.planner.kinds` (from before skills) still works: it becomes `sim.skills.mix`.
 * Giving both is a mistake that must not pass silently (one would override the other).
 */
function legacyKinds(input: unknown, ctx: z.RefinementCtx): unknown {
  if (!isObj(input) || !isObj(input.planner) || !('kinds' in input.planner)) return input;
  const { kinds, ...planner } = input.planner;
  const skills = isObj(input.skills) ? input.skills : {};
  if ('mix' in skills) {
    ctx.addIssue({ code: 'custom', path: ['planner', 'kinds'], message: 'sim.planner.kinds (legacy kind weights) and sim.skills.mix are both set; keep sim.skills.mix and remove sim.planner.kinds' });
    return input;
  }
  const parsed = KindWeights.safeParse(kinds);
  if (!parsed.success) {
    for (const i of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['planner', 'kinds', ...i.path.map(String)], message: i.message });
    return input;
  }
  return { ...input, planner, skills: { ...skills, mix: mixFromKinds(parsed.data) } };
}

export const SimConfig = z
  .preprocess(legacyKinds, SimConfigObject)
  .superRefine((c, ctx) => {
    const calls = c.skills.difficulty.parallel_calls + 1;
    if (calls > c.planner.maxParallel)
      ctx.addIssue({
        code: 'custom',
        path: ['skills', 'difficulty', 'parallel_calls'],
        message: `level ${c.skills.difficulty.parallel_calls} asks for ${calls} parallel calls but sim.planner.maxParallel is ${c.planner.maxParallel}; raise maxParallel or lower the level`,
      });
  });
export type SimConfig = z.infer<typeof SimConfigObject>;
/** What a config file may say under `sim` (plus the legacy `planner.kinds`). */
export type SimConfigInput = z.input<typeof SimConfigObject> & { planner?: { kinds?: z.input<typeof KindWeights> } };

export const DEFAULT_SIM_CONFIG: SimConfig = SimConfig.parse({});
