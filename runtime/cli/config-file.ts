import { readFileSync } from 'node:fs';
import { RunConfig } from '../../protocols/config.ts';
import { formatIssues } from '../../protocols/errors.ts';
import { checkRunConfig } from '../run-config.ts';
import { UsageError } from './command.ts';

/** Reads `--config FILE` (JSON) as a RunConfig; no file gives the embedded default. */
export function readConfigFile(path: string | undefined): RunConfig {
  if (!path) return RunConfig.parse({});
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`--config ${path}: ${(err as Error).message}`);
  }
  const r = checkRunConfig(raw);
  if (!r.ok) throw new UsageError(`--config ${path}: ${formatIssues(r.issues)}`);
  return r.config;
}
