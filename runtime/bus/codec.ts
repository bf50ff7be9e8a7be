const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value));
}

/** Decodes JSON; returns undefined (never throws) so callers can answer with a clear error. */
export function decodeJson(data: Uint8Array): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(dec.decode(data)) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
