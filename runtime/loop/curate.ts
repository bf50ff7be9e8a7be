import { LooptoolError } from '../../protocols/errors.ts';
import type { CallFn } from '../../protocols/role.ts';
import { CURATE_VERB, curatorContract, type CurateDecision } from '../../protocols/roles/curator.ts';
import type { Sample } from '../../protocols/sample.ts';
import { chunks, mapLimit } from '../concurrency.ts';

export type DroppedSample = { sample: Sample; curator: string; note: string };
export type CurateResult = { kept: Sample[]; dropped: DroppedSample[] };

export type CurateOptions = {
  /** the loop round the samples were expanded in */
  round: number;
  /** samples per request; default: all of them in one, so a curator can weigh the round's samples against each other */
  batch?: number;
  /** requests in flight per curator (default 4) */
  concurrency?: number;
  /** stable request ids `<idPrefix>.<curator>.<batch>`: a retried request is answered from the host's cache */
  idPrefix?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
};

/** One decision per candidate, or an error naming the curator: a missing or stray decision is the curator's bug. */
function decisionsById(curator: string, samples: Sample[], decisions: CurateDecision[]): Map<string, CurateDecision> {
  const asked = new Set(samples.map((s) => s.id));
  const out = new Map<string, CurateDecision>();
  for (const [i, d] of decisions.entries()) {
    const problem = !asked.has(d.id) ? `no candidate has id "${d.id}"` : out.has(d.id) ? `a second decision for "${d.id}"` : null;
    if (problem) throw new LooptoolError({ code: 'invalid_output', message: `curator ${curator}: ${problem}`, issues: [{ path: `payload.decisions.${i}.id`, message: problem }] });
    out.set(d.id, d);
  }
  const missing = samples.filter((s) => !out.has(s.id)).map((s) => s.id);
  if (missing.length) throw new LooptoolError({ code: 'invalid_output', message: `curator ${curator}: no decision for ${missing.length} sample(s): ${missing.slice(0, 5).join(', ')}` });
  return out;
}

/**
 * Shows candidate samples to each curator (`loop.curators`, protocols/roles/curator.ts)
 * in order; a sample a curator drops is not shown to the next. Returns the kept samples
 * in their input order and the dropped ones with the curator's note. No curators: every
 * sample is kept and nothing is called.
 */
export async function curateSamples(call: CallFn, curators: readonly string[], samples: readonly Sample[], opts: CurateOptions): Promise<CurateResult> {
  const ids = new Set(samples.map((s) => s.id));
  if (ids.size !== samples.length) throw new LooptoolError({ code: 'invalid_input', message: 'curateSamples: candidate sample ids must be unique' });
  let kept = [...samples];
  const dropped: DroppedSample[] = [];
  for (const curator of curators) {
    if (!kept.length) break;
    const contract = curatorContract(curator);
    const batches = chunks(kept, opts.batch ?? kept.length);
    const answers = await mapLimit(
      batches,
      opts.concurrency ?? 4,
      async (part, b) => {
        const out = await call(contract, CURATE_VERB, { round: opts.round, samples: part }, { timeoutMs: opts.timeoutMs, ...(opts.idPrefix ? { id: `${opts.idPrefix}.${curator}.${b}` } : {}) });
        return decisionsById(curator, part, out.decisions);
      },
      opts.signal,
    );
    const next: Sample[] = [];
    for (const [b, part] of batches.entries()) {
      for (const s of part) {
        const d = answers[b]!.get(s.id)!;
        if (d.keep) next.push(s);
        else dropped.push({ sample: s, curator, note: d.note });
      }
    }
    kept = next;
  }
  return { kept, dropped };
}
