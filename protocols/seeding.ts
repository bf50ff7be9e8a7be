import { z } from 'zod';
import { SkillMix } from './sim-config.ts';

/**
 * Round 0 (seed data) knobs: how a dialogue is simulated, checked and turned into
 * samples. Every stage has a switch so the paper's ablations can be run. Every field
 * has a default, so `SeedingConfig.parse({})` is the embedded default.
 */
export const SeedingConfig = z.strictObject({
  tools: z
    .number()
    .int()
    .min(1)
    .max(32)
    .optional()
    .describe('tools per dialogue (the API designer synthesizes a set per dialogue); default: sim.designer.toolsPerSet'),
  targetTurns: z
    .number()
    .int()
    .min(1)
    .max(16)
    .optional()
    .describe('user requests per dialogue (the plan length); default: sim.planner.targetTurns'),
  skillMix: SkillMix.optional().describe('skills the planner plans for, by weight, overriding sim.skills.mix for these dialogues (the loop\'s test stream asks for a uniform mix)'),
  selfConsistency: z
    .strictObject({
      enabled: z.boolean().default(true).describe('off: one sample per assistant turn, never masked'),
      samples: z.number().int().min(2).max(8).default(2).describe('samples drawn first; accepted when two agree'),
      maxSamples: z.number().int().min(2).max(16).default(3).describe('draw one more at a time up to this; still no agreement: pick the first and mask the turn'),
    })
    .prefault({})
    .refine((s) => s.maxSamples >= s.samples, { message: 'maxSamples must be >= samples', path: ['maxSamples'] }),
  judge: z
    .strictObject({
      enabled: z.boolean().default(true).describe('off: rule checks alone decide'),
      votes: z.number().int().min(1).max(15).default(3).describe('judge votes per dialogue; accepted by strict majority of CORRECT'),
    })
    .prefault({}),
  maxBadTurns: z
    .number()
    .int()
    .min(1)
    .max(20)
    .default(3)
    .describe('a step that fails (role error, or an assistant turn that breaks the rules) is retried with a new seed; this many failures stop the dialogue, which is rejected'),
  maxStepsPerRequest: z
    .number()
    .int()
    .min(1)
    .max(16)
    .default(6)
    .describe('assistant messages answering one user message (tool rounds + the final text); more counts as a bad turn and ends the request'),
  maxMessages: z.number().int().min(4).max(400).default(80).describe('hard cap on the dialogue length'),
  contextUserTurns: z.number().int().min(1).max(64).default(8).describe('a sample\'s context starts at most this many user messages back'),
  dropNoToolUse: z.boolean().default(true).describe('reject dialogues in which the assistant never calls a tool'),
  callTimeoutMs: z.number().int().min(100).max(3_600_000).default(120_000).describe('per role call (llm brains may be slow)'),
  reviewers: z
    .array(z.string().regex(/^[A-Za-z0-9_-]+$/, 'a role name (one subject token)'))
    .default([])
    .describe('roles (reviewerContract, protocols/roles/reviewer.ts) that review each chosen assistant turn, in order, before it joins the dialogue; serve them with `roles`'),
});
export type SeedingConfig = z.infer<typeof SeedingConfig>;
export type SeedingConfigInput = z.input<typeof SeedingConfig>;

export const DEFAULT_SEEDING: SeedingConfig = SeedingConfig.parse({});
