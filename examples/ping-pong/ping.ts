import { defineRole } from 'looptool';
import { pingContract, pongContract } from './contracts.ts';

/** ping rallies: each shot is a request to pong; every hop shows up in the trace. */
export default defineRole({
  contract: pingContract,
  concurrency: 2,
  verbs: {
    rally: {
      async handle({ shots }, ctx) {
        let ball = 0;
        let text = 'serve';
        for (let i = 0; i < shots; i++) {
          const r = await ctx.call(pongContract, 'hit', { ball, text: `shot ${i + 1}` });
          ball = r.ball;
          text = r.text;
          ctx.emit('metric', { shot: i + 1, ball });
        }
        return { shots, last: text };
      },
    },
  },
});
