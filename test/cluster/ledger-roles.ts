import { appendFileSync } from 'node:fs';
import { z } from 'zod';
import { defineContract, defineRole } from '../../protocols/role.ts';

/**
 * Two roles for the cluster test, served by `looptool agent --module`: `relay.pass` calls
 * `leaf.mark`, which writes the key it ran for to this process's ledger file
 * (LOOPTOOL_TEST_LEDGER.<pid>), so the test can count how often each piece of work ran.
 */
export const leafContract = defineContract({
  name: 'leaf',
  verbs: { mark: { input: z.object({ key: z.string() }), output: z.object({ key: z.string(), by: z.number() }) } },
});
export const relayContract = defineContract({
  name: 'relay',
  verbs: { pass: { input: z.object({ key: z.string() }), output: z.object({ key: z.string(), via: z.number(), by: z.number() }) } },
});

const leaf = defineRole({
  contract: leafContract,
  concurrency: 8,
  verbs: {
    mark: {
      async handle({ key }) {
        await new Promise((r) => setTimeout(r, 2));
        const ledger = process.env.LOOPTOOL_TEST_LEDGER;
        if (ledger) appendFileSync(`${ledger}.${process.pid}`, `${key}\n`);
        return { key, by: process.pid };
      },
    },
  },
});

const relay = defineRole({
  contract: relayContract,
  concurrency: 8,
  verbs: {
    pass: {
      async handle({ key }, ctx) {
        const r = await ctx.call(leafContract, 'mark', { key }, { timeoutMs: 20_000, retries: 5 });
        return { key, via: process.pid, by: r.by };
      },
    },
  },
});

export default [leaf, relay];
