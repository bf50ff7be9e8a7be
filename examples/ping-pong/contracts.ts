import { z } from 'zod';
import { defineContract } from 'looptool';

/** Two toy roles that show the runtime: ping rallies with pong over the bus. */
export const pongContract = defineContract({
  name: 'pong',
  verbs: {
    hit: {
      input: z.object({ ball: z.number().int().min(0), text: z.string().max(200) }),
      output: z.object({ ball: z.number().int(), text: z.string() }),
    },
  },
});

export const pingContract = defineContract({
  name: 'ping',
  verbs: {
    rally: {
      input: z.object({ shots: z.number().int().min(1).max(1000) }),
      output: z.object({ shots: z.number().int(), last: z.string() }),
    },
  },
});
