import { z } from 'zod';
import { isLooptoolError, LooptoolError } from '../../protocols/errors.ts';
import { TrainerContract, TrainerGrpoInput, TrainerSftInput } from '../../protocols/roles/trainer.ts';
import type { CallFn } from '../../protocols/role.ts';
import { publicView, type Sample } from '../../protocols/sample.ts';

/**
 * The loop's view of the trainer agent on the bus: supervised warm-up, GRPO rounds, and
 * putting the policy back at a checkpoint (after a resume, or to evaluate a given round).
 * Samples lose their hidden truth before they leave: the policy never sees it.
 */

const strip = (samples: readonly Sample[]) => samples.map((s) => publicView(s) as Sample);

export class PolicyPort {
  /** the checkpoint the served policy is known to hold; undefined = unknown (fresh process) */
  private loaded: string | null | undefined;

  constructor(private readonly call: CallFn) {}

  async sft(input: z.input<typeof TrainerSftInput>, id: string) {
    const out = await this.call(TrainerContract, 'sft', { ...input, samples: strip(input.samples as Sample[]) }, { id, retries: 0 });
    this.loaded = out.checkpoint ?? undefined;
    return out;
  }

  async grpo(input: z.input<typeof TrainerGrpoInput>, id: string) {
    const out = await this.call(TrainerContract, 'grpo', { ...input, samples: strip(input.samples as Sample[]) }, { id, retries: 0 });
    this.loaded = out.checkpoint ?? undefined;
    return out;
  }

  /** Makes sure the served policy is `checkpoint` (null: the policy as freshly loaded). */
  async ensure(checkpoint: string | null): Promise<void> {
    if (this.loaded === checkpoint && checkpoint !== undefined) return;
    if (checkpoint === null) {
      if (this.loaded === undefined) this.loaded = null;
      if (this.loaded === null) return;
      throw new LooptoolError({ code: 'internal', message: 'the policy has moved on from its initial weights and there is no checkpoint to go back to' });
    }
    try {
      await this.call(TrainerContract, 'restore', { path: checkpoint, optimizer: false }, { retries: 1 });
    } catch (err) {
      if (isLooptoolError(err, ['no_responders', 'unknown_verb']))
        throw new LooptoolError({ code: 'internal', message: `cannot put the policy back at ${checkpoint}: the trainer does not serve trainer.restore (${err.message})` });
      throw err;
    }
    this.loaded = checkpoint;
  }

  /** After a training call fails midway the policy's state is unknown. */
  forget(): void {
    this.loaded = undefined;
  }
}
