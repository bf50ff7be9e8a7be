import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BfclDataset, type Category, answerFile, hasAnswers, loadDataset, questionFile } from '../../protocols/bfcl/index.ts';

/** The repository root (this file is runtime/bfcl/files.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Where the BFCL v3 data lives: `--data`, else LOOPTOOL_BFCL_DIR, else ../shared/bfcl/v3 next
 * to the repository (CI clones the repo with shared/ beside it).
 */
export function bfclDataDir(flag?: string): string {
  if (flag) return resolve(flag);
  const env = process.env.LOOPTOOL_BFCL_DIR;
  if (env) return resolve(env);
  return resolve(REPO_ROOT, '..', 'shared', 'bfcl', 'v3');
}

/** Reads and validates one category's question and answer files; throws a clear error if absent. */
export function loadBfclCategory(dir: string, category: Category): BfclDataset {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`BFCL data directory not found: ${dir} (use --data DIR or LOOPTOOL_BFCL_DIR)`);
  }
  const qPath = join(dir, questionFile(category));
  if (!existsSync(qPath)) throw new Error(`missing BFCL question file ${qPath}`);
  const questions = readFileSync(qPath, 'utf8');
  let answers: string | undefined;
  if (hasAnswers(category)) {
    const aPath = join(dir, answerFile(category));
    if (!existsSync(aPath)) throw new Error(`missing BFCL possible-answer file ${aPath}`);
    answers = readFileSync(aPath, 'utf8');
  }
  return loadDataset(category, questions, answers);
}
