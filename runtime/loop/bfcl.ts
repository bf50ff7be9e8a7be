import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { answerFile, checkEntry, hasAnswers, jsonLines, loadDataset, normalizeCategory, questionFile, type Category } from '../../protocols/bfcl/index.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import type { EvalConfig } from '../../protocols/loop/config.ts';
import type { BfclFigures } from '../../protocols/loop/records.ts';
import type { ChatMessage } from '../../protocols/messages.ts';
import { PolicyContract } from '../../protocols/roles/trainer.ts';
import type { CallFn } from '../../protocols/role.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import { argumentsJson, parseHermes, PyDict, type PyVal } from '../../protocols/toolcalls/index.ts';
import { convertFunction } from '../../agents/api-designer/index.ts';
import { chunks } from '../concurrency.ts';

/**
 * The BFCL v3 hook of the loop's evaluation (`loop.eval.bfcl`): the first `limit` questions
 * of each configured single-turn category are put to the policy through `policy.generate`
 * (greedy; the function docs as tools, the first turn as messages), the Hermes answer is
 * turned into a function-calling result and scored by protocols/bfcl's checker with the
 * leaderboard's rules. Overall = the unweighted mean over the categories run.
 */

type Question = { id: string; tools: ToolSpec[]; messages: ChatMessage[] };

function questions(dir: string, category: Category): { items: Question[]; dataset: ReturnType<typeof loadDataset> } {
  const qPath = join(dir, questionFile(category));
  if (!existsSync(qPath)) throw new LooptoolError({ code: 'invalid_input', message: `loop.eval.bfcl: no ${qPath}` });
  const qText = readFileSync(qPath, 'utf8');
  const aPath = join(dir, answerFile(category));
  const aText = hasAnswers(category) ? readFileSync(aPath, 'utf8') : undefined;
  const dataset = loadDataset(category, qText, aText);
  const items: Question[] = [];
  for (const { line, text } of jsonLines(qText)) {
    const q = JSON.parse(text) as { id?: string; question?: unknown; function?: unknown[] };
    if (typeof q.id !== 'string' || !Array.isArray(q.question) || !Array.isArray(q.question[0])) continue;
    const tools: ToolSpec[] = [];
    for (const [i, doc] of (q.function ?? []).entries()) {
      const r = convertFunction(doc, `${questionFile(category)}:${line}.function.${i}`, 'bfcl');
      if (r.spec) {
        const { meta: _meta, ...spec } = r.spec;
        tools.push(spec);
      }
    }
    const messages = (q.question[0] as { role?: string; content?: string }[])
      .filter((m) => m.role === 'user' || m.role === 'system')
      .map((m) => ({ role: m.role as 'user' | 'system', content: String(m.content ?? '') }));
    if (tools.length && messages.length) items.push({ id: q.id, tools, messages });
  }
  return { items, dataset };
}

/** A Hermes completion as BFCL's function-calling result: [{name: "<json arguments>"}]. */
export function fcResult(text: string): PyVal {
  const r = parseHermes(text);
  if (!r.ok || r.calls.length === 0) return '';
  return r.calls.map((c) => PyDict.from([[c.name, argumentsJson(c)]]));
}

export async function evalBfcl(call: CallFn, cfg: NonNullable<z.output<typeof EvalConfig>['bfcl']>, id: string): Promise<z.output<typeof BfclFigures>> {
  const categories: z.output<typeof BfclFigures>['categories'] = {};
  for (const name of cfg.categories) {
    const category = normalizeCategory(name);
    if (!category) throw new LooptoolError({ code: 'invalid_input', message: `loop.eval.bfcl.categories: unknown category "${name}"` });
    if (category.startsWith('multi_turn')) throw new LooptoolError({ code: 'invalid_input', message: `loop.eval.bfcl.categories: "${name}" is multi-turn; the loop evaluates single-turn categories` });
    const { items, dataset } = questions(cfg.dir, category);
    const picked = cfg.limit ? items.slice(0, cfg.limit) : items;
    let correct = 0;
    for (const [b, batch] of chunks(picked, 16).entries()) {
      const out = await call(PolicyContract, 'generate', { prompts: batch.map((q) => ({ tools: q.tools, messages: q.messages })), n: 1, temperature: 0, max_new_tokens: 256 }, { id: `${id}.${category}.${b}` });
      out.results.forEach((r, i) => {
        const entry = dataset.entries.get(batch[i]!.id);
        if (entry && checkEntry(entry, fcResult(r.samples[0]?.text ?? ''), 'fc').valid) correct++;
      });
    }
    categories[category] = { n: picked.length, correct, accuracy: picked.length ? correct / picked.length : 0 };
  }
  const figs = Object.values(categories);
  return { overall: figs.length ? figs.reduce((a, f) => a + f.accuracy, 0) / figs.length : null, categories };
}
