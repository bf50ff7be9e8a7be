import { fromPromise } from 'xstate';
import { defineRole, type HandlerContext } from 'looptool';
import { pongContract } from './contracts.ts';

type HitInput = { input: { ball: number; text: string }; ctx: HandlerContext };

/** pong's verb is plain XState actor logic: any logic works, not only promise handlers. */
export default defineRole({
  contract: pongContract,
  concurrency: 4,
  verbs: {
    hit: {
      logic: fromPromise(async ({ input }: { input: HitInput }) => ({
        ball: input.input.ball + 1,
        text: `pong(${input.input.text})`,
      })),
    },
  },
});
