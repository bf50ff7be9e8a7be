import { z } from 'zod';
import { describeIssues, LooptoolError, type ErrorIssue } from '../../../protocols/errors.ts';
import { MASK, Secret } from './secret.ts';

/**
 * One OpenAI-compatible chat endpoint as a role uses it. Every field may come from
 * the run config or from the environment; see `resolveEndpoint` for precedence.
 */
export const EndpointFields = {
  baseURL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://127.0.0.1:8000/v1' }),
  model: z.string().min(1, 'expected a model name'),
  /** Empty for local servers that need no key (vLLM, llama.cpp, Ollama). */
  apiKey: z.string(),
  /** Unset: the brain's own default for the task (e.g. 0 for judges), else the endpoint's. */
  temperature: z.number().min(0).max(2),
  maxTokens: z.number().int().positive(),
  /** Per attempt; a timed-out attempt is retried like a 5xx. */
  timeoutMs: z.number().int().positive(),
  /** Retries of transport failures: 429, 5xx, 408/409, timeouts, connection errors. */
  maxRetries: z.number().int().min(0).max(20),
  /** Extra turns that quote the validation issues back to the model. */
  repairRetries: z.number().int().min(0).max(10),
  /** Requests in flight at once to this endpoint (baseURL + model), shared by all roles in a process. */
  concurrency: z.number().int().min(1).max(100_000),
  /** First backoff delay; doubled each retry with jitter, capped by retryMaxMs. */
  retryBaseMs: z.number().int().min(0),
  /** Cap on any single wait, including a server's Retry-After. */
  retryMaxMs: z.number().int().min(0),
  /** Sent as-is in every request body (e.g. vLLM's chat_template_kwargs). */
  extraBody: z.record(z.string(), z.unknown()),
  /** Extra HTTP headers (never logged). */
  headers: z.record(z.string(), z.string()),
  /**
   * How tools reach the model: `native` sends the `tools` parameter and reads
   * `tool_calls` (Hermes text in the reply is still understood); `prompt` lists the
   * tools in the system prompt and reads Hermes `<tool_call>` blocks, for servers
   * started without a tool parser (vLLM without --enable-auto-tool-choice, plain llama.cpp).
   */
  toolMode: z.enum(['native', 'prompt']),
};

const numeric = <T extends z.ZodType>(t: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), t);

/** Any subset of the endpoint fields (a layer of configuration). */
export const EndpointOverrides = z
  .object({
    baseURL: EndpointFields.baseURL.optional(),
    model: EndpointFields.model.optional(),
    apiKey: EndpointFields.apiKey.optional(),
    temperature: numeric(EndpointFields.temperature).optional(),
    maxTokens: numeric(EndpointFields.maxTokens).optional(),
    timeoutMs: numeric(EndpointFields.timeoutMs).optional(),
    maxRetries: numeric(EndpointFields.maxRetries).optional(),
    repairRetries: numeric(EndpointFields.repairRetries).optional(),
    concurrency: numeric(EndpointFields.concurrency).optional(),
    retryBaseMs: numeric(EndpointFields.retryBaseMs).optional(),
    retryMaxMs: numeric(EndpointFields.retryMaxMs).optional(),
    extraBody: EndpointFields.extraBody.optional(),
    headers: EndpointFields.headers.optional(),
    toolMode: EndpointFields.toolMode.optional(),
  })
  .strict();
export type EndpointOverrides = z.input<typeof EndpointOverrides>;

/** The `llm` section of a run config: shared fields plus per-role overrides. */
export const LlmConfig = EndpointOverrides.extend({
  roles: z.record(z.string(), EndpointOverrides).optional(),
}).strict();
export type LlmConfig = z.input<typeof LlmConfig>;

export const DEFAULTS = {
  maxTokens: 1024,
  timeoutMs: 60_000,
  maxRetries: 3,
  repairRetries: 2,
  concurrency: 16,
  retryBaseMs: 500,
  retryMaxMs: 20_000,
} as const;

/** A fully resolved endpoint. The key is a Secret: printing this object never shows it. */
export type Endpoint = {
  role: string;
  baseURL: string;
  model: string;
  apiKey: Secret;
  temperature: number | undefined;
  /** max_tokens of a request whose brain asks for none */
  maxTokens: number;
  /** a maxTokens set in the config or the environment: also the most any brain may ask for */
  maxTokensCap: number | undefined;
  timeoutMs: number;
  maxRetries: number;
  repairRetries: number;
  concurrency: number;
  retryBaseMs: number;
  retryMaxMs: number;
  extraBody: Record<string, unknown>;
  headers: Record<string, string>;
  toolMode: 'native' | 'prompt';
};

// Environment names of each field; the key also accepts OPENAI_API_KEY / OPENAI_BASE_URL
// as a last resort so a stock OpenAI setup works unchanged.
const ENV_FIELDS: Record<keyof typeof EndpointFields, string> = {
  baseURL: 'BASE_URL',
  model: 'MODEL',
  apiKey: 'API_KEY',
  temperature: 'TEMPERATURE',
  maxTokens: 'MAX_TOKENS',
  timeoutMs: 'TIMEOUT_MS',
  maxRetries: 'MAX_RETRIES',
  repairRetries: 'REPAIR_RETRIES',
  concurrency: 'CONCURRENCY',
  retryBaseMs: 'RETRY_BASE_MS',
  retryMaxMs: 'RETRY_MAX_MS',
  extraBody: 'EXTRA_BODY',
  headers: 'HEADERS',
  toolMode: 'TOOL_MODE',
};

/** "api-designer" → "API_DESIGNER", the role's infix in LOOPTOOL_LLM_<ROLE>_<FIELD>. */
export function roleEnvName(role: string): string {
  return role.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
}

/** The environment variables that configure `role`, most specific first (documentation and errors). */
export function envVariables(role?: string): string[] {
  const names: string[] = [];
  if (role) for (const f of Object.values(ENV_FIELDS)) names.push(`LOOPTOOL_LLM_${roleEnvName(role)}_${f}`);
  for (const f of Object.values(ENV_FIELDS)) names.push(`LOOPTOOL_LLM_${f}`);
  names.push('OPENAI_API_KEY', 'OPENAI_BASE_URL');
  return names;
}

type Layer = { name: string; values: Record<string, unknown>; paths: Record<string, string> };

function envLayer(env: NodeJS.ProcessEnv, prefix: string, name: string): Layer | null {
  const values: Record<string, unknown> = {};
  const paths: Record<string, string> = {};
  for (const [field, suffix] of Object.entries(ENV_FIELDS)) {
    const key = `${prefix}${suffix}`;
    const raw = env[key];
    if (raw === undefined || raw === '') continue;
    paths[field] = key;
    if (field === 'extraBody' || field === 'headers') {
      try {
        values[field] = JSON.parse(raw);
      } catch {
        throw new LooptoolError({ code: 'invalid_input', message: 'invalid llm configuration', issues: [{ path: key, message: 'expected a JSON object' }] });
      }
    } else values[field] = raw;
  }
  return Object.keys(values).length ? { name, values, paths } : null;
}

function checkLayer(layer: Layer): Record<string, unknown> {
  const r = EndpointOverrides.safeParse(layer.values);
  if (r.success) return r.data as Record<string, unknown>;
  const issues: ErrorIssue[] = describeIssues(r.error).map((i) => {
    const field = i.path.split('.')[0] ?? '';
    return { path: layer.paths[field] ?? `${layer.name}.${i.path}`, message: i.message };
  });
  // Never echo a key back, even an invalid one: issues carry paths and messages only.
  throw new LooptoolError({ code: 'invalid_input', message: 'invalid llm configuration', issues });
}

/**
 * A layer from the run config. A run directory keeps its config without the key and the
 * header values (`[redacted]`, see `storedLlmConfig`); such a field counts as unset here,
 * so the environment supplies it, and `redacted` says which paths lost theirs.
 */
function configLayer(values: Record<string, unknown> | undefined, name: string, redacted: string[]): Layer | null {
  if (!values) return null;
  const kept: Record<string, unknown> = { ...values };
  if (kept.apiKey === MASK) {
    delete kept.apiKey;
    redacted.push(`${name}.apiKey`);
  }
  if (kept.headers && typeof kept.headers === 'object' && Object.values(kept.headers).includes(MASK)) {
    delete kept.headers;
    redacted.push(`${name}.headers`);
  }
  const paths: Record<string, string> = {};
  for (const k of Object.keys(kept)) paths[k] = `${name}.${k}`;
  return { name, values: kept, paths };
}

/** The `llm` section as a run directory keeps it: the key and every header value replaced by `[redacted]`. */
export function storedLlmConfig(llm: Record<string, unknown>): Record<string, unknown> {
  const hide = (layer: unknown): unknown => {
    if (!layer || typeof layer !== 'object' || Array.isArray(layer)) return layer;
    const out: Record<string, unknown> = { ...(layer as Record<string, unknown>) };
    if (typeof out.apiKey === 'string' && out.apiKey !== '') out.apiKey = MASK;
    if (out.headers && typeof out.headers === 'object') out.headers = Object.fromEntries(Object.keys(out.headers).map((k) => [k, MASK]));
    return out;
  };
  const out = hide(llm) as Record<string, unknown>;
  if (out.roles && typeof out.roles === 'object') out.roles = Object.fromEntries(Object.entries(out.roles).map(([r, v]) => [r, hide(v)]));
  return out;
}

/**
 * Resolves the endpoint a role talks to. Precedence, most specific first:
 *   config llm.roles.<role>  >  LOOPTOOL_LLM_<ROLE>_*  >  config llm.*  >  LOOPTOOL_LLM_*
 *   >  OPENAI_API_KEY / OPENAI_BASE_URL  >  defaults.
 * Bad values are reported with the config path or variable name that held them.
 */
export function resolveEndpoint(role: string, config: unknown = {}, env: NodeJS.ProcessEnv = process.env): Endpoint {
  const cfgParsed = LlmConfig.safeParse(config ?? {});
  if (!cfgParsed.success)
    throw new LooptoolError({ code: 'invalid_input', message: 'invalid llm configuration', issues: describeIssues(cfgParsed.error, 'llm') });
  const { roles, ...shared } = cfgParsed.data;
  const R = roleEnvName(role);
  const openaiEnv: Layer = { name: 'env', values: {}, paths: {} };
  if (env.OPENAI_API_KEY) ((openaiEnv.values.apiKey = env.OPENAI_API_KEY), (openaiEnv.paths.apiKey = 'OPENAI_API_KEY'));
  if (env.OPENAI_BASE_URL) ((openaiEnv.values.baseURL = env.OPENAI_BASE_URL), (openaiEnv.paths.baseURL = 'OPENAI_BASE_URL'));

  // Least specific first, so later layers overwrite.
  const redacted: string[] = [];
  const layers = [
    openaiEnv,
    envLayer(env, 'LOOPTOOL_LLM_', 'env'),
    configLayer(shared, 'llm', redacted),
    envLayer(env, `LOOPTOOL_LLM_${R}_`, 'env'),
    configLayer(roles?.[role], `llm.roles.${role}`, redacted),
  ].filter((l): l is Layer => l !== null);
  const merged: Record<string, unknown> = {};
  for (const layer of layers) Object.assign(merged, checkLayer(layer));

  const missing: ErrorIssue[] = [];
  // A resumed run whose config file held the key: it was not stored, so it must come again.
  for (const path of redacted) {
    const field = path.endsWith('.apiKey') ? 'apiKey' : 'headers';
    if (merged[field] === undefined)
      missing.push({
        path,
        message: `not kept in the run directory; set ${field === 'apiKey' ? `LOOPTOOL_LLM_API_KEY or LOOPTOOL_LLM_${R}_API_KEY` : `LOOPTOOL_LLM_HEADERS or LOOPTOOL_LLM_${R}_HEADERS (JSON)`} to continue this run`,
      });
  }
  if (merged.baseURL === undefined)
    missing.push({ path: 'baseURL', message: `no endpoint for role "${role}": set LOOPTOOL_LLM_BASE_URL, LOOPTOOL_LLM_${R}_BASE_URL or llm.baseURL` });
  if (merged.model === undefined)
    missing.push({ path: 'model', message: `no model for role "${role}": set LOOPTOOL_LLM_MODEL, LOOPTOOL_LLM_${R}_MODEL or llm.model` });
  if (missing.length) throw new LooptoolError({ code: 'invalid_input', message: 'incomplete llm configuration', issues: missing });

  return {
    role,
    baseURL: String(merged.baseURL).replace(/\/+$/, ''),
    model: String(merged.model),
    apiKey: new Secret(String(merged.apiKey ?? '')),
    temperature: merged.temperature as number | undefined,
    maxTokens: (merged.maxTokens as number | undefined) ?? DEFAULTS.maxTokens,
    maxTokensCap: merged.maxTokens as number | undefined,
    timeoutMs: (merged.timeoutMs as number | undefined) ?? DEFAULTS.timeoutMs,
    maxRetries: (merged.maxRetries as number | undefined) ?? DEFAULTS.maxRetries,
    repairRetries: (merged.repairRetries as number | undefined) ?? DEFAULTS.repairRetries,
    concurrency: (merged.concurrency as number | undefined) ?? DEFAULTS.concurrency,
    retryBaseMs: (merged.retryBaseMs as number | undefined) ?? DEFAULTS.retryBaseMs,
    retryMaxMs: (merged.retryMaxMs as number | undefined) ?? DEFAULTS.retryMaxMs,
    extraBody: (merged.extraBody as Record<string, unknown> | undefined) ?? {},
    headers: (merged.headers as Record<string, string> | undefined) ?? {},
    toolMode: (merged.toolMode as 'native' | 'prompt' | undefined) ?? 'native',
  };
}

/** What an endpoint looks like in logs and traces: no key, no headers. */
export function describeEndpoint(e: Endpoint): { role: string; baseURL: string; model: string; concurrency: number; hasKey: boolean } {
  const u = new URL(e.baseURL);
  const hasUserinfo = u.username !== '' || u.password !== '';
  u.username = '';
  u.password = '';
  const baseURL = hasUserinfo ? u.toString().replace(/\/+$/, '') : e.baseURL;
  return { role: e.role, baseURL, model: e.model, concurrency: e.concurrency, hasKey: !e.apiKey.empty || hasUserinfo };
}
