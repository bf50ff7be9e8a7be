import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { bfclTools, checkKind, checkResultLine, isCategory, fcToolName, normalizeCategory, parseQuestions, questionFile, resultFromAnswer, resultLine, type BfclDataset, type BfclQuestion, type Category } from '../../protocols/bfcl/index.ts';
import { pyRepr } from '../../protocols/toolcalls/index.ts';
import { describeIssues, formatIssues, LooptoolError } from '../../protocols/errors.ts';
import type { EvalConfig } from '../../protocols/loop/config.ts';
import type { BfclExpected, BfclFigures, BfclItemRecord } from '../../protocols/loop/records.ts';
import { proportion } from '../../protocols/loop/stats.ts';
import { PolicyContract } from '../../protocols/roles/trainer.ts';
import type { CallFn } from '../../protocols/role.ts';
import { ToolSpec } from '../../protocols/toolspec.ts';
import { ChatMessage } from '../../protocols/messages.ts';
import { bfclDataDir, loadBfclCategory } from '../bfcl/files.ts';
import { chunks } from '../concurrency.ts';

/**
 * The BFCL v3 hook of the loop's evaluation (`loop.eval.bfcl`): the first `limit` questions
 * of each configured single-turn category are put to the policy through `policy.generate`
 * (greedy), offered and scored as `looptool eval bfcl run --mode fc` offers and scores
 * them: function names with "." written "_" (BFCL's FC handlers do so, and the checker's
 * FC rule expects it), the Hermes calls written as a BFCL result line and checked by
 * protocols/bfcl with the leaderboard's rules. A doc the bus's ToolSpec cannot carry is
 * left out of the offer and named in the item. Overall = the unweighted mean over the
 * categories run. Every answer is kept, with its question, for `looptool answers --split bfcl`.
 */

export type BfclConfig = NonNullable<z.output<typeof EvalConfig>['bfcl']>;

/**
 * A BFCL question as the policy gets it over the bus: the tools `eval bfcl run --mode fc`
 * offers (bfclTools), as the bus's ToolSpec, whose description may not be empty (an empty
 * one becomes the name in words), and the turn as messages. The values are eval's; the
 * keys of a schema reach the chat template in ToolSpec's order, as every tool's on the bus.
 */
export function bfclPrompt(q: BfclQuestion): { tools: ToolSpec[]; messages: ChatMessage[]; unoffered: string[] } {
  const tools: ToolSpec[] = [];
  const unoffered: string[] = [];
  for (const { function: f } of bfclTools(q.functions).tools) {
    const r = ToolSpec.safeParse({ name: f.name, description: f.description.trim() ? f.description : f.name.replace(/[_.-]+/g, ' '), parameters: f.parameters });
    if (r.success) tools.push(r.data);
    else unoffered.push(`${f.name}: ${formatIssues(describeIssues(r.error))}`);
  }
  return { tools, messages: z.array(ChatMessage).parse(q.messages), unoffered };
}

/** The checker's verdict on a completion, read as `eval bfcl run --mode fc` reads a reply. */
export function checkBfclAnswer(ds: BfclDataset, id: string, text: string) {
  return checkResultLine(ds, resultLine(id, resultFromAnswer('fc', { content: text, toolCalls: [] })), 'fc');
}

/** The ground truth of an entry, each allowed value as Python writes it; null where no call is expected. */
export function bfclExpected(ds: BfclDataset, id: string): BfclExpected | null {
  const gt = ds.entries.get(id)?.gt;
  if (!gt) return null;
  return gt.map((c) => ({ name: fcToolName(c.name), params: Object.fromEntries([...c.params].map(([p, values]) => [p, values.map(pyRepr)])) }));
}

function categoryOf(name: string): Category {
  const category = normalizeCategory(name);
  if (!category) throw new LooptoolError({ code: 'invalid_input', message: `loop.eval.bfcl.categories: unknown category "${name}"` });
  if (category.startsWith('multi_turn')) throw new LooptoolError({ code: 'invalid_input', message: `loop.eval.bfcl.categories: "${name}" is multi-turn; the loop evaluates single-turn categories` });
  return category;
}

function load(dir: string, category: Category): { questions: BfclQuestion[]; dataset: BfclDataset } {
  let dataset: BfclDataset;
  try {
    dataset = loadBfclCategory(dir, category);
  } catch (err) {
    throw new LooptoolError({ code: 'invalid_input', message: `loop.eval.bfcl: ${(err as Error).message} (set loop.eval.bfcl.dir or LOOPTOOL_BFCL_DIR)` });
  }
  const { questions, problems } = parseQuestions(category, readFileSync(join(dir, questionFile(category)), 'utf8'));
  // a question left out would change what "the first `limit`" are without a word
  if (problems.length) throw new LooptoolError({ code: 'invalid_input', message: `loop.eval.bfcl: ${questionFile(category)} has lines that are not questions: ${problems.slice(0, 3).join('; ')}` });
  return { questions, dataset };
}

/** Round `round`'s answers to BFCL with their verdicts, and the figures the report gives. */
export async function evalBfcl(
  call: CallFn,
  cfg: BfclConfig,
  round: number,
  id: string,
  onProgress?: (done: number, total: number, category: string) => void,
): Promise<{ figures: z.output<typeof BfclFigures>; items: BfclItemRecord[] }> {
  const dir = bfclDataDir(cfg.dir);
  const categories: z.output<typeof BfclFigures>['categories'] = {};
  const items: BfclItemRecord[] = [];
  // every category is read before the first question is asked: a missing file fails at once
  const loaded = cfg.categories.map(categoryOf).map((category) => {
    const { questions, dataset } = load(dir, category);
    return { category, dataset, picked: cfg.limit ? questions.slice(0, cfg.limit) : questions };
  });
  const total = loaded.reduce((a, l) => a + l.picked.length, 0);
  onProgress?.(0, total, loaded[0]?.category ?? 'done');
  for (const { category, dataset, picked } of loaded) {
    let correct = 0;
    for (const [b, batch] of chunks(picked, 16).entries()) {
      const prompts = batch.map(bfclPrompt);
      const asked = prompts.map(({ tools, messages }) => ({ tools, messages }));
      const bare = batch.filter((_, i) => prompts[i]!.tools.length === 0).map((q) => q.id);
      if (bare.length) throw new LooptoolError({ code: 'invalid_input', message: `loop.eval.bfcl: ${category} questions ${bare.join(', ')} offer no usable function` });
      const out = await call(PolicyContract, 'generate', { prompts: asked, n: 1, temperature: 0, max_new_tokens: cfg.max_new_tokens }, { id: `${id}.${category}.${b}` });
      batch.forEach((q, i) => {
        const sample = out.results[i]?.samples[0];
        const text = sample?.text ?? '';
        const v = checkBfclAnswer(dataset, q.id, text);
        if (v.valid) correct++;
        items.push({
          type: 'bfcl_item',
          round,
          category,
          id: q.id,
          tools: prompts[i]!.tools.map((t) => t.name),
          ...(prompts[i]!.unoffered.length ? { unoffered: prompts[i]!.unoffered } : {}),
          messages: prompts[i]!.messages,
          expected: bfclExpected(dataset, q.id),
          text,
          cutOff: sample?.finish_reason === 'length',
          correct: v.valid,
          errorType: v.error_type,
          ...(v.error ? { error: v.error } : {}),
        });
      });
      onProgress?.(items.length, total, category);
    }
    const p = proportion(correct, picked.length);
    categories[category] = { n: picked.length, correct, accuracy: p.value, se: p.se };
  }
  return { figures: bfclOverall(categories), items };
}

/**
 * The unweighted mean over categories, as the leaderboard averages, with its standard error
 * (the categories are independent samples), beside the never-call policy averaged alike.
 */
export function bfclOverall(categories: z.output<typeof BfclFigures>['categories']): z.output<typeof BfclFigures> {
  const names = Object.keys(categories);
  const figs = Object.values(categories);
  if (!figs.length) return { overall: null, categories };
  const se = Math.sqrt(figs.reduce((a, f) => a + (f.se ?? 0) ** 2, 0)) / figs.length;
  const neverCall = names.filter((c) => isCategory(c) && checkKind(c) === 'irrelevance').length / names.length;
  return { overall: figs.reduce((a, f) => a + f.accuracy, 0) / figs.length, overallSe: se, neverCall, categories };
}
