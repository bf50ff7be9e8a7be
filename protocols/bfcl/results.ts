import { toParseError } from '../toolcalls/errors.ts';
import { parseJsonExact } from '../toolcalls/json-exact.ts';
import { PyDict, type PyVal, pyType } from '../toolcalls/pyvalue.ts';
import { type CheckMode, type Verdict, checkEntry } from './checker.ts';
import type { BfclDataset } from './dataset.ts';

/** A verdict line: `{"id", "valid", "error_type"}` (+ `error` when invalid). */
export type ResultLineVerdict = { id: string | null } & Verdict;

/**
 * Checks one line of a BFCL result file (`{"id": ..., "result": ...}`). A malformed line or
 * an id the dataset does not know gives an invalid verdict with a looptool error type; nothing
 * throws. The line is read with the exact-number reader (Python's json.loads semantics).
 */
export function checkResultLine(ds: BfclDataset, line: string, mode: CheckMode): ResultLineVerdict {
  let v: PyVal;
  try {
    v = parseJsonExact(line, { allowNonFinite: true });
  } catch (err) {
    return { id: null, valid: false, error_type: 'looptool:malformed_line', error: `not JSON: ${toParseError(err).message}` };
  }
  if (!(v instanceof PyDict)) {
    return { id: null, valid: false, error_type: 'looptool:malformed_line', error: `expected an object {"id", "result"}, got ${pyType(v)}` };
  }
  const id = v.get('id');
  if (typeof id !== 'string') {
    return { id: null, valid: false, error_type: 'looptool:malformed_line', error: '"id" must be a string' };
  }
  if (!v.has('result')) return { id, valid: false, error_type: 'looptool:malformed_line', error: 'no "result" field' };
  const entry = ds.entries.get(id);
  if (!entry) return { id, valid: false, error_type: 'looptool:unknown_id', error: `id ${id} is not in ${ds.category}` };
  return { id, ...checkEntry(entry, v.get('result'), mode) };
}
