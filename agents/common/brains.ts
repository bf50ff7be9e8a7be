import { brainFor, RunConfig, type BrainKind } from '../../protocols/config.ts';
import { parseOrThrow } from '../../protocols/errors.ts';
import type { JsonValue } from '../../protocols/json.ts';
import type { HandlerContext, RoleEnv } from '../../protocols/role.ts';
import type { SimConfig } from '../../protocols/sim-config.ts';
import type { LlmClient } from './llm/client.ts';
import { describeEndpoint, resolveEndpoint } from './llm/config.ts';
import type { LlmDeps } from './llm/brain.ts';

/**
 * What a role replica holds: the run config and the brain chosen for the role
 * (`brains.<role>` or `defaultBrain`). An llm brain gets one LlmClient per replica;
 * all clients of a process that talk to the same endpoint share one limiter, so the
 * endpoint's `concurrency` bounds the requests in flight, whatever the role's slots.
 */
export type BrainResources = { config: RunConfig; brain: BrainKind; llm?: LlmClient };

/** Reads the run config from the host's env (invalid config: an error naming the field). */
export function runConfigOf(env: Pick<RoleEnv, 'config'>): RunConfig {
  return parseOrThrow(RunConfig, env.config ?? {}, 'run config', 'invalid_input', 'config');
}

/**
 * A replica's resources for `role`: the run config and its brain, with a client for an llm
 * brain. The client's module (OpenAI's SDK) is loaded here, by the first replica with an
 * llm brain, as the roles load their llm brains' modules (LangChain's prompts) on first
 * use (brainVerb): together they were half the modules of a process, which a sim-brained
 * run never needs.
 */
export async function selectBrain(role: string, env: RoleEnv): Promise<BrainResources> {
  const config = runConfigOf(env);
  const brain = brainFor(config, role);
  if (brain === 'sim') return { config, brain };
  const endpoint = resolveEndpoint(role, config.llm);
  const { LlmClient } = await import('./llm/client.ts');
  // Retries, repairs and failures show in the trace; events are redacted by the client.
  const llm = new LlmClient(endpoint, { onEvent: (e) => env.emit('log', JSON.parse(JSON.stringify({ llm: e })) as JsonValue) });
  env.log.info({ role, endpoint: describeEndpoint(endpoint) }, 'llm brain');
  return { config, brain, llm };
}

/** The deps an llm brain function takes, for one request. */
export function llmDeps(r: BrainResources, ctx: Pick<HandlerContext, 'signal'>): LlmDeps {
  if (!r.llm) throw new Error('llmDeps: this replica has no llm brain');
  return { client: r.llm, signal: ctx.signal };
}

export type LlmBrain<I, O> = (input: I, deps: LlmDeps, sim: SimConfig, ctx: HandlerContext<BrainResources>) => Promise<O>;

/**
 * A verb served by the replica's brain: `llm` when it has an llm brain, `sim` otherwise.
 * Both get the sim config (an llm brain reads the world's knobs too, e.g. list sizes)
 * and the request's context (a brain may call other roles). The llm brain comes from
 * `loadLlm`, called on the first llm request only (see selectBrain).
 */
export function brainVerb<I, O>(
  loadLlm: () => Promise<LlmBrain<I, O>>,
  sim: (input: I, sim: SimConfig, ctx: HandlerContext<BrainResources>) => O | Promise<O>,
): { handle(input: I, ctx: HandlerContext<BrainResources>): Promise<O> } {
  // the brain itself where its loader belongs (the form before loaders): say so where the role is defined
  if (loadLlm.length > 0)
    throw new TypeError("brainVerb(loadLlm, sim): loadLlm takes no arguments and returns the llm brain, e.g. async () => (await import('./llm.ts')).translateLlm");
  let llm: Promise<LlmBrain<I, O>> | undefined;
  return {
    async handle(input, ctx) {
      const r = ctx.resources;
      if (r.brain !== 'llm') return sim(input, r.config.sim, ctx);
      llm ??= loadLlm();
      return (await llm)(input, llmDeps(r, ctx), r.config.sim, ctx);
    },
  };
}
