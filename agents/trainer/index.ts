/**
 * The trainer role's public face: what the rest of looptool may import from this folder.
 * The agent is two roles over one PyTorch worker (trainer, policy); the runtime also
 * drives the worker directly (`looptool serve`, `model init`, BFCL answers) and names
 * models the way the agent does.
 */
export { default, policyRole, trainerRole } from './role.ts';
/** The worker process and its typed requests (the JSON-lines protocol stays in this folder). */
export { isWorkerError, WorkerError, WorkerProcess, type WorkerProcessOptions } from './worker-process.ts';
export type { WorkerArgs, WorkerResult, WorkerVerb } from './worker-protocol.ts';
/** Where presets live in the model cache, and a model spec from a command-line argument. */
export { modelsDir, modelSpecFromArg, presetDir, resolveModelSpec } from './presets.ts';
/** How a sample becomes the worker's prompt and the completion it trains on. */
export { labelCompletion, workerPrompt } from './prompts.ts';
