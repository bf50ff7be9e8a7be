/**
 * The llm brain's shared pieces that other layers may use: the OpenAI-compatible client
 * (BFCL evaluation answers with it) and the endpoint config (a run's `llm` section, and
 * `eval` resolving an endpoint by role). Roles' llm brains use the rest of this folder.
 * What needs only the config imports config.ts: this file loads the client, and with it
 * OpenAI's SDK, which a sim-brained run never needs (see selectBrain).
 */
export { LlmCallError, LlmClient } from './client.ts';
export { LlmConfig, resolveEndpoint, storedLlmConfig, type Endpoint } from './config.ts';
