/**
 * The llm brain's shared pieces that other layers may use: the OpenAI-compatible client
 * (BFCL evaluation answers with it) and the endpoint config (a run's `llm` section, and
 * `eval` resolving an endpoint by role). Roles' llm brains use the rest of this folder.
 */
export { LlmCallError, LlmClient } from './client.ts';
export { LlmConfig, resolveEndpoint, storedLlmConfig, type Endpoint } from './config.ts';
