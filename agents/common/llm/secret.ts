import { inspect } from 'node:util';

export const MASK = '[redacted]';

/**
 * An API key that cannot leak by accident: JSON.stringify, String(), template
 * literals and util.inspect (so pino and console.log) all show "[redacted]".
 * Only `reveal()` gives the value, and only the HTTP client calls it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  get empty(): boolean {
    return this.#value === '';
  }
  toString(): string {
    return MASK;
  }
  toJSON(): string {
    return MASK;
  }
  [inspect.custom](): string {
    return `Secret(${MASK})`;
  }
}

// Shorter values are not worth masking: they would mangle ordinary words in messages
// (an empty or placeholder key such as "none" is no secret anyway).
const MIN_SECRET_LENGTH = 6;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Removes every known secret (and anything that looks like a bearer token or an
 * OpenAI-style key) from a string. Used on every message we log, trace or throw
 * that could contain text from the endpoint or from the request we sent.
 */
export function redact(text: string, secrets: Iterable<Secret | string> = []): string {
  let out = text;
  for (const s of secrets) {
    const v = typeof s === 'string' ? s : s.reveal();
    if (v.length < MIN_SECRET_LENGTH) continue;
    out = out.split(v).join(MASK);
    // Endpoints often quote a key partly masked ("sk-abc***xyz"): hide its visible prefix too.
    const prefix = v.slice(0, Math.min(12, Math.floor(v.length / 2)));
    if (prefix.length >= MIN_SECRET_LENGTH) out = out.replace(new RegExp(escapeRe(prefix) + '[^\\s"\']*', 'g'), MASK);
  }
  out = out.replace(/(bearer\s+)[^\s"',}]+/gi, `$1${MASK}`);
  out = out.replace(/\bsk-[A-Za-z0-9_-]{8,}/g, MASK);
  return out;
}

/** Deep-redacts a JSON-like value (strings inside objects and arrays); other values pass through. */
export function redactValue<T>(value: T, secrets: Iterable<Secret | string> = []): T {
  const list = [...secrets];
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v, list);
    if (v instanceof Secret) return MASK;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        out[k] = /^(api[-_]?key|authorization|x-api-key|password|token|secret)$/i.test(k) ? MASK : walk(x);
      }
      return out;
    }
    return v;
  };
  return walk(value) as T;
}
