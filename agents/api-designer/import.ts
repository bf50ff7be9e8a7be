/**
 * Importers: OpenAI `tools` JSON and BFCL function docs into our ToolSpec pool.
 * BFCL writes Python-flavoured types (dict, float, tuple, any); they are mapped to
 * the JSON-schema subset (object, number, array, string) and every change or
 * skipped spec is reported with its path in the source. Imported specs get an
 * inferred `meta` so that the simulator can build dialogues over them.
 */
import type { ToolSpec } from '../../protocols/toolspec.ts';
import { convertSchema, isObj, type ImportIssue } from '../../protocols/toolspec-import.ts';
import { ToolSpec as ToolSpecSchema } from '../../protocols/toolspec.ts';
import { checkToolSpec, errorsOnly } from '../../protocols/toolspec-rules.ts';
import { inferToolMeta } from '../../protocols/truth/infer.ts';

export type { ImportIssue };
/** `sets`: tool names grouped as the source groups them (a BFCL question's function list). */
export type ImportResult = { tools: ToolSpec[]; issues: ImportIssue[]; sets: string[][] };
export type ImportFormat = 'openai' | 'bfcl' | 'auto';

/** One function doc ({name, description, parameters[, response]}) -> ToolSpec, or issues. */
export function convertFunction(raw: unknown, path: string, source: 'openai' | 'bfcl', origin?: string): { spec?: ToolSpec; issues: ImportIssue[] } {
  const issues: ImportIssue[] = [];
  if (!isObj(raw) || typeof raw.name !== 'string') return { issues: [{ path, message: 'not a function doc (no name)' }] };
  const params = isObj(raw.parameters) ? convertSchema({ ...raw.parameters, type: 'object' }, `${path}.parameters`, issues) : { type: 'object' as const };
  // a replaced type is reported by tool and parameter, so that a person can find it
  for (const i of issues) if (i.unrepresentable) i.tool = raw.name;
  const description = typeof raw.description === 'string' && raw.description.trim() ? raw.description.trim() : '';
  if (!description) issues.push({ path: `${path}.description`, message: 'no description; the name is used' });
  const candidate = {
    name: raw.name,
    description: description || raw.name.replace(/[_.-]+/g, ' '),
    parameters: { type: 'object', properties: params.properties ?? {}, required: params.required ?? [] },
    returns: isObj(raw.response) ? convertSchema(raw.response, `${path}.response`, issues) : undefined,
  };
  const parsed = ToolSpecSchema.safeParse(candidate);
  if (!parsed.success) {
    return { issues: [...issues, ...parsed.error.issues.map((i) => ({ path: `${path}.${i.path.join('.')}`, message: i.message }))] };
  }
  const spec = parsed.data;
  const errors = errorsOnly(checkToolSpec(spec));
  if (errors.length) return { issues: [...issues, ...errors.map((e) => ({ path: `${path}.${e.path}`, message: `${e.code}: ${e.message}` }))] };
  spec.meta = inferToolMeta(spec, source, origin);
  return { spec, issues };
}

/** Parses text as JSON, or as JSON Lines (BFCL files are JSON Lines named .json). */
function parseSource(source: unknown, issues: ImportIssue[]): unknown[] {
  if (typeof source !== 'string') return Array.isArray(source) ? source : [source];
  const text = source.trim();
  if (!text) return [];
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v : [v];
  } catch {
    const out: unknown[] = [];
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      try {
        out.push(JSON.parse(line));
      } catch (e) {
        issues.push({ path: `line ${i + 1}`, message: `not JSON: ${(e as Error).message}` });
      }
    });
    return out;
  }
}

/** Finds the function docs in one entry of any supported layout, with their paths. */
function docsOf(entry: unknown, path: string, format: ImportFormat): { doc: unknown; path: string; source: 'openai' | 'bfcl' }[] {
  if (!isObj(entry)) return [];
  // OpenAI {type:'function', function:{...}}
  if (entry.type === 'function' && isObj(entry.function) && format !== 'bfcl') return [{ doc: entry.function, path: `${path}.function`, source: 'openai' }];
  // {tools:[...]} (an OpenAI request body) or BFCL question {function:[...]}
  if (Array.isArray(entry.tools)) return entry.tools.flatMap((t, i) => docsOf(t, `${path}.tools.${i}`, format));
  if (Array.isArray(entry.function))
    return entry.function.map((d, i) => ({ doc: d, path: `${path}.function.${i}`, source: format === 'openai' ? 'openai' : 'bfcl' }));
  if (typeof entry.name === 'string' && 'parameters' in entry) {
    const bfclish = format === 'bfcl' || (format === 'auto' && isObj(entry.parameters) && (entry.parameters.type === 'dict' || 'response' in entry));
    return [{ doc: entry, path, source: bfclish ? 'bfcl' : 'openai' }];
  }
  return [];
}

/**
 * Imports specs from OpenAI `tools` JSON (an array, {tools}, or single entries) or
 * BFCL function docs (question lines with `function`, or bare docs as in
 * multi_turn_func_doc). Specs are deduplicated by name: the first wins; a later one
 * with the same name but a different schema is reported and skipped.
 */
export function importSpecs(source: unknown, format: ImportFormat = 'auto', origin?: string): ImportResult {
  const issues: ImportIssue[] = [];
  const entries = parseSource(source, issues);
  const byName = new Map<string, { spec: ToolSpec; key: string }>();
  const tools: ToolSpec[] = [];
  const sets: string[][] = [];
  // bare docs (one per line, as in multi_turn_func_doc) form one set together
  const loose: string[] = [];
  entries.forEach((entry, i) => {
    const docs = docsOf(entry, String(i), format);
    if (!docs.length) issues.push({ path: String(i), message: 'no function doc found in this entry' });
    const set: string[] = [];
    for (const d of docs) {
      const r = convertFunction(d.doc, d.path, d.source, origin);
      issues.push(...r.issues);
      if (!r.spec) continue;
      const key = JSON.stringify([r.spec.description, r.spec.parameters]);
      const seen = byName.get(r.spec.name);
      if (seen) {
        if (seen.key !== key) {
          issues.push({ path: d.path, message: `another "${r.spec.name}" with a different schema was imported first; skipped` });
          continue;
        }
      } else {
        byName.set(r.spec.name, { spec: r.spec, key });
        tools.push(r.spec);
      }
      set.push(r.spec.name);
    }
    const bare = docs.length === 1 && docs[0]!.path === String(i);
    if (bare) loose.push(...set);
    else if (set.length) sets.push([...new Set(set)]);
  });
  if (loose.length) sets.push([...new Set(loose)]);
  return { tools, issues, sets };
}
