/**
 * An example of a new role: a critic that reviews every assistant turn before it
 * joins the dialogue, so before any tool runs (docs/adding-a-role.md walks through it).
 *
 * It catches a mistake the schema's type check lets through: a value in the wrong
 * *format* — "March 3rd 2026" where the parameter says `format: "date"` (YYYY-MM-DD),
 * "7pm" for a `time`, a name where an `email` is due. Such a turn is rejected, and the
 * dialogue machine draws it again (or, after too many bad turns, drops the dialogue).
 * It also repairs one harmless slip itself: the same call made twice in one turn is
 * made once ("revise").
 *
 * The whole role is this file. It joins a run with one line of configuration:
 *   { "roles": ["examples/critic/critic.ts"], "seeding": { "reviewers": ["critic"] } }
 */
import { canonicalJson, defineRole, reviewerContract, type JsonValue, type ParamSchema, type ReviewOutput, type ToolCall, type ToolSpec } from 'looptool';

export const criticContract = reviewerContract('critic', 'Rejects assistant turns whose call values break their parameter format; merges duplicate calls.');

/** What each declared format accepts (JSON Schema's names; the canonical forms tools expect). */
const FORMATS: Record<string, RegExp> = {
  date: /^\d{4}-\d{2}-\d{2}$/,
  time: /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/,
  'date-time': /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/,
  email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
  uri: /^[a-z][a-z0-9+.-]*:\/\/\S+$/i,
};

/** Every value of `call` whose parameter declares a format it does not have, as "name.path: why". */
export function formatProblems(tools: ToolSpec[], call: ToolCall): string[] {
  const spec = tools.find((t) => t.name === call.name);
  if (!spec) return []; // unknown tools are the rule checks' business, not the critic's
  const out: string[] = [];
  const walk = (schema: ParamSchema | undefined, value: JsonValue | undefined, path: string) => {
    if (!schema || value === undefined || value === null) return;
    if (schema.type === 'object' && schema.properties && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(schema.properties[k], v, `${path}.${k}`);
    } else if (schema.type === 'array' && Array.isArray(value)) {
      value.forEach((v, i) => walk(schema.items, v, `${path}.${i}`));
    } else if (schema.format && FORMATS[schema.format] && typeof value === 'string' && !FORMATS[schema.format]!.test(value)) {
      out.push(`${call.name}${path}: "${value}" is not in ${schema.format} format`);
    }
  };
  for (const [k, v] of Object.entries(call.arguments)) walk(spec.parameters.properties[k], v, `.${k}`);
  return out;
}

/** The same call twice in one turn is one call (ids aside). */
export function dedupeCalls(calls: ToolCall[]): ToolCall[] {
  const seen = new Set<string>();
  return calls.filter((c) => {
    const key = `${c.name}:${canonicalJson(c.arguments)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export default defineRole({
  contract: criticContract,
  concurrency: 32,
  verbs: {
    review: {
      async handle({ tools, candidate }, ctx): Promise<ReviewOutput> {
        const problems = candidate.tool_calls.flatMap((c) => formatProblems(tools, c));
        if (problems.length) {
          ctx.emit('metric', { rejected: 1, problems: problems.length });
          return { verdict: 'reject', note: problems.join('; ') };
        }
        const calls = dedupeCalls(candidate.tool_calls);
        if (calls.length < candidate.tool_calls.length) {
          return { verdict: 'revise', revised: { ...candidate, tool_calls: calls }, note: `merged ${candidate.tool_calls.length - calls.length} duplicate call(s)` };
        }
        return { verdict: 'accept', note: '' };
      },
    },
  },
});
