import { RunConfig } from '../protocols/config.ts';
import { describeConfigIssues } from '../protocols/config-keys.ts';
import type { ErrorIssue } from '../protocols/errors.ts';
import { LlmConfig, storedLlmConfig } from '../agents/common/llm/config.ts';

/**
 * The one check of a run config, for a `--config` file and for a run's stored config.json:
 * the schema (strict at every level: an unknown key is an error with a "did you mean"),
 * and the `llm` section, which RunConfig keeps opaque because its schema lives with the
 * llm brains (protocols may not import agents).
 */
export function checkRunConfig(raw: unknown): { ok: true; config: RunConfig } | { ok: false; issues: ErrorIssue[] } {
  const r = RunConfig.safeParse(raw);
  const section = r.success ? r.data.llm : (raw as { llm?: unknown } | null)?.llm;
  // all the mistakes of a file at once, the llm section's too
  const llm = section !== undefined && section !== null && typeof section === 'object' ? LlmConfig.safeParse(section) : undefined;
  const issues = [...(r.success ? [] : describeConfigIssues(r.error, RunConfig, 'config')), ...(llm && !llm.success ? describeConfigIssues(llm.error, LlmConfig, 'config.llm') : [])];
  return r.success && issues.length === 0 ? { ok: true, config: r.data } : { ok: false, issues };
}

/**
 * A run config as it is written to a run directory: an API key or header given in the
 * config file is replaced by `[redacted]` (a run directory is shared, copied and archived;
 * the key is not). Resuming such a run takes the key from the environment.
 */
export function storedRunConfig(config: RunConfig): RunConfig {
  return { ...config, llm: storedLlmConfig(config.llm) };
}
