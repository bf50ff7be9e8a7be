import type { z } from 'zod';
import type { EvalConfig } from '../../protocols/loop/config.ts';
import type { BfclFigures } from '../../protocols/loop/records.ts';
import type { CallFn } from '../../protocols/role.ts';
import { LooptoolError } from '../../protocols/errors.ts';

/**
 * The BFCL v3 hook of the loop's evaluation. It runs when `loop.eval.bfcl` is set and
 * asks the policy through `policy.generate`, scoring with the AST checker of
 * protocols/bfcl. Until the BFCL runner (`looptool eval bfcl`) exposes a function the loop
 * can call, a configured BFCL evaluation fails loudly instead of being skipped silently.
 */
export async function evalBfcl(_call: CallFn, cfg: NonNullable<z.output<typeof EvalConfig>['bfcl']>, _id: string): Promise<z.output<typeof BfclFigures>> {
  throw new LooptoolError({
    code: 'internal',
    message: `loop.eval.bfcl is set (${cfg.dir}) but the BFCL runner is not available to the loop yet; remove loop.eval.bfcl or evaluate checkpoints with looptool eval bfcl`,
  });
}
