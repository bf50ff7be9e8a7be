import { z } from 'zod';
import type { RunConfig } from '../../../protocols/config.ts';
import { LooptoolError } from '../../../protocols/errors.ts';
import { ApiDesignerContract } from '../../../protocols/roles/api-designer.ts';
import type { SkillMix } from '../../../protocols/sim-config.ts';
import { Sample } from '../../../protocols/sample.ts';
import { ToolSpec } from '../../../protocols/toolspec.ts';
import { readJsonl } from '../../corpus.ts';
import { runSeed, seedFiles } from '../../seed.ts';
import type { StageContext } from './context.ts';

/** `n` tool sets from the API designer, once per run (kept in round-0/toolsets.jsonl). */
export async function toolPool(cx: StageContext, n: number): Promise<ToolSpec[][]> {
  const rel = 'round-0/toolsets.jsonl';
  const Rec = z.object({ type: z.literal('toolset'), index: z.number().int(), tools: z.array(ToolSpec) });
  if (cx.store.exists(rel)) {
    const sets = cx.store.read(rel, Rec);
    if (sets.length === n) return sets.map((s) => s.tools);
  }
  const count = cx.config.seeding.tools ?? cx.config.sim.designer.toolsPerSet;
  const sets: ToolSpec[][] = [];
  const constraints = cx.loop.toolConstraints;
  for (let i = 0; i < n; i++) sets.push((await cx.call(ApiDesignerContract, 'design', { seed: cx.rngSeed('toolset', i), count, ...(constraints ? { constraints } : {}) })).tools);
  cx.store.write(rel, sets.map((tools, index) => ({ type: 'toolset', index, tools })));
  return sets;
}

/** The world's tool sets when the loop draws its own (loop.toolSets > 0). */
export async function worldTools(cx: StageContext): Promise<ToolSpec[][] | undefined> {
  return cx.loop.toolSets > 0 ? toolPool(cx, cx.loop.toolSets) : undefined;
}

/** Dialogues enough for `samples` usable samples (1.4 × samples / requests per dialogue). */
export function dialoguesFor(cx: StageContext, samples: number): number {
  const turns = cx.config.seeding.targetTurns ?? cx.config.sim.planner.targetTurns;
  return Math.ceil((1.4 * samples) / turns);
}

/**
 * A stream of simulated samples apart from the seed pool: the same world (tool sets,
 * simulator settings), its own seed, in `<name>/` of the run directory, so an interrupted
 * stream resumes like the seed stream does.
 */
export async function simulatedStream(cx: StageContext, name: 'test-stream' | 'validation-stream' | 'warmup-stream', dialogues: number, tools: ToolSpec[][] | undefined, skillMix?: SkillMix): Promise<Sample[]> {
  const config: RunConfig = { ...cx.config, seed: cx.rngSeed(name), ...(skillMix ? { seeding: { ...cx.config.seeding, skillMix } } : {}) };
  const runDir = cx.store.path(name);
  const stage = name === 'warmup-stream' ? 'warmup' : 'seeding';
  const summary = await runSeed({
    ...(tools ? { toolPool: tools } : {}),
    node: cx.node,
    runDir,
    config,
    dialogues,
    concurrency: cx.loop.concurrency,
    signal: cx.signal,
    onProgress: (p) => cx.progress(stage, 0, p.finished, p.total, `${name}, accepted ${p.accepted}`),
  });
  if (!summary.complete)
    throw new LooptoolError({
      code: summary.unavailable ? 'unavailable' : 'internal',
      message: `the ${name} stopped after ${summary.finished}/${summary.dialogues} dialogues${summary.unavailable ? ` (not attempted: ${summary.unavailable}); resume the run when the endpoint is back` : ''}`,
    });
  return readJsonl(seedFiles(runDir).samples, Sample).records.filter((s) => !s.masked);
}
