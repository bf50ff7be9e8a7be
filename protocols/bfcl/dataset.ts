import { z } from 'zod';
import { describeIssues, formatIssues } from '../errors.ts';
import { parseJsonExact } from '../toolcalls/json-exact.ts';
import { PyDict, type PyVal, pyType } from '../toolcalls/pyvalue.ts';
import { type Category, checkKind, hasAnswers } from './categories.ts';

/**
 * BFCL v3 question and possible-answer files (JSON Lines, see shared/bfcl/v3/README.md),
 * validated once at the file boundary and compiled into the shapes the checker walks.
 * Ground truth is read with the exact-number reader, so `4.0` stays a float.
 */

export type ParamDoc = {
  /** the doc's type word: string, integer, float, boolean, array, tuple, dict, any (others are kept) */
  type: string;
  /** `items.type` for array and tuple; undefined when the doc has no items */
  itemsType: string | undefined;
};

export type FuncDoc = {
  name: string;
  required: string[];
  props: Map<string, ParamDoc>;
};

/** One expected call: function name and, per parameter, the accepted alternatives. */
export type GtCall = {
  name: string;
  params: Map<string, PyVal[]>;
  /** the checker's precomputed plan for this call (internal cache) */
  plan?: unknown;
};

export type BfclEntry = {
  id: string;
  category: Category;
  docs: FuncDoc[];
  /** null for irrelevance / relevance categories */
  gt: GtCall[] | null;
  /** why this entry cannot be checked (bad question or answer line); checks report it */
  invalid?: string;
};

export type BfclDataset = {
  category: Category;
  entries: Map<string, BfclEntry>;
  /** ids in file order */
  order: string[];
  /** problems that concern lines without a usable id */
  problems: string[];
};

const ParamSchema = z.object({
  type: z.string(),
  items: z.object({ type: z.string() }).optional(),
});

const FuncDocSchema = z.object({
  name: z.string(),
  parameters: z.object({
    properties: z.record(z.string(), ParamSchema),
    required: z.array(z.string()),
  }),
});

const QuestionSchema = z.object({
  id: z.string().min(1),
  function: z.array(z.unknown()).default([]),
});

/** Splits JSON Lines text; blank lines are skipped, line numbers are 1-based. */
export function jsonLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let start = 0;
  let line = 1;
  for (;;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const t = text.slice(start, end).replace(/\r$/, '');
    if (t.trim() !== '') out.push({ line, text: t });
    if (end >= text.length) break;
    start = end + 1;
    line++;
  }
  return out;
}

function compileDoc(raw: unknown, where: string): FuncDoc {
  const r = FuncDocSchema.safeParse(raw);
  if (!r.success) throw new Error(`${where}: ${formatIssues(describeIssues(r.error))}`);
  const props = new Map<string, ParamDoc>();
  for (const [k, p] of Object.entries(r.data.parameters.properties)) props.set(k, { type: p.type, itemsType: p.items?.type });
  return { name: r.data.name, required: r.data.parameters.required, props };
}

function compileGt(v: PyVal, where: string): GtCall[] {
  if (!Array.isArray(v)) throw new Error(`${where}: "ground_truth" must be a list, got ${pyType(v)}`);
  return v.map((call, i) => {
    if (!(call instanceof PyDict) || call.size === 0) throw new Error(`${where}: ground_truth[${i}] must be {function_name: {param: [alternatives]}}`);
    // Like the leaderboard, only the first key counts.
    const name = call.keys[0];
    const params = call.vals[0];
    if (typeof name !== 'string') throw new Error(`${where}: ground_truth[${i}] has a non-string function name`);
    if (!(params instanceof PyDict)) throw new Error(`${where}: ground_truth[${i}].${name} must be an object of parameters`);
    const map = new Map<string, PyVal[]>();
    params.keys.forEach((p, j) => {
      const alts = params.vals[j];
      if (typeof p !== 'string') throw new Error(`${where}: ground_truth[${i}].${name} has a non-string parameter name`);
      if (!Array.isArray(alts)) throw new Error(`${where}: ground_truth[${i}].${name}.${p} must be a list of alternatives, got ${pyType(alts)}`);
      map.set(p, alts);
    });
    return { name, params: map };
  });
}

/**
 * Builds a dataset from the text of a question file and (for AST categories) its
 * possible-answer file. Never throws on bad lines: they become invalid entries or problems.
 */
export function loadDataset(category: Category, questionsText: string, answersText?: string): BfclDataset {
  const entries = new Map<string, BfclEntry>();
  const order: string[] = [];
  const problems: string[] = [];
  const needDocs = checkKind(category) !== 'irrelevance' && checkKind(category) !== 'relevance';
  for (const { line, text } of jsonLines(questionsText)) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      problems.push(`questions line ${line}: not JSON (${(err as Error).message})`);
      continue;
    }
    const q = QuestionSchema.safeParse(raw);
    if (!q.success) {
      problems.push(`questions line ${line}: ${formatIssues(describeIssues(q.error))}`);
      continue;
    }
    const id = q.data.id;
    if (entries.has(id)) {
      problems.push(`questions line ${line}: duplicate id ${id}`);
      continue;
    }
    const entry: BfclEntry = { id, category, docs: [], gt: null };
    try {
      entry.docs = q.data.function.map((d, i) => compileDoc(d, `function[${i}]`));
    } catch (err) {
      // Irrelevance and relevance never look at the docs, so a bad doc only matters for AST checks.
      if (needDocs) entry.invalid = `question ${id}: ${(err as Error).message}`;
    }
    entries.set(id, entry);
    order.push(id);
  }
  if (hasAnswers(category)) {
    const seen = new Set<string>();
    if (answersText === undefined) problems.push(`no possible-answer file for ${category}`);
    else
      for (const { line, text } of jsonLines(answersText)) {
        let v: PyVal;
        try {
          v = parseJsonExact(text);
        } catch (err) {
          problems.push(`answers line ${line}: not JSON (${(err as Error).message})`);
          continue;
        }
        const id = v instanceof PyDict ? v.get('id') : undefined;
        if (typeof id !== 'string') {
          problems.push(`answers line ${line}: no string "id"`);
          continue;
        }
        const entry = entries.get(id);
        if (!entry) {
          problems.push(`answers line ${line}: id ${id} has no question`);
          continue;
        }
        seen.add(id);
        try {
          entry.gt = compileGt((v as PyDict).get('ground_truth') ?? null, `answer ${id}`);
        } catch (err) {
          entry.invalid ??= (err as Error).message;
        }
      }
    for (const id of order) {
      const e = entries.get(id)!;
      if (!seen.has(id) && answersText !== undefined) e.invalid ??= `question ${id} has no possible answer`;
      if (answersText === undefined) e.invalid ??= `no possible-answer file for ${category}`;
    }
  }
  return { category, entries, order, problems };
}
