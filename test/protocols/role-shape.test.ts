import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { fromPromise } from 'xstate';
import { checkRole, defineContract, roleIssues } from '../../protocols/role.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import { catalogue } from '../../agents/registry.ts';
import { startTestBus } from '../helpers/bus.ts';

// A role's shape is checked where roles enter (module files, node.serve): a module no type
// checker saw must be refused with the field named, not served by no mailbox slot.

const contract = defineContract({
  name: 'shouter',
  verbs: { shout: { input: z.object({ text: z.string() }), output: z.object({ text: z.string() }) } },
});
const good = { contract, concurrency: 2, verbs: { shout: { handle: async ({ text }: { text: string }) => ({ text: text.toUpperCase() }) } } };

test('every built-in role has a valid shape; handle and XState logic are both verbs', () => {
  for (const e of catalogue) assert.deepEqual(roleIssues(e.role), [], e.role.contract.name);
  assert.deepEqual(roleIssues(good), []);
  assert.deepEqual(roleIssues({ ...good, verbs: { shout: { logic: fromPromise(async () => ({ text: 'x' })) } } }), []);
});

test('a role without concurrency, with a bad name, a schema that is not one, or verbs that do not match its contract: each field named', () => {
  const { concurrency: _c, ...noSlots } = good;
  assert.deepEqual(roleIssues(noSlots), [{ path: 'concurrency', message: 'expected a whole number >= 1: how many requests one replica serves at once' }]);
  assert.deepEqual(roleIssues({ ...good, concurrency: 0 }).map((i) => i.path), ['concurrency']);
  assert.deepEqual(roleIssues({ ...good, contract: { ...contract, name: 'two words' } }).map((i) => i.path), ['contract.name']);
  assert.deepEqual(roleIssues({ ...good, contract: { ...contract, verbs: { shout: { input: contract.verbs.shout.input, output: { type: 'object' } } } } }).map((i) => i.path), ['contract.verbs.shout.output']);
  assert.deepEqual(roleIssues({ ...good, verbs: { shout: { run: () => 1 } } }).map((i) => i.path), ['verbs.shout']);
  assert.deepEqual(roleIssues({ ...good, verbs: {} }), [{ path: 'verbs.shout', message: 'the contract declares "shout" but the role does not implement it' }]);
  assert.deepEqual(roleIssues({ ...good, verbs: { ...good.verbs, whisper: good.verbs.shout } }), [{ path: 'verbs.whisper', message: '"whisper" is not a verb of the contract (shout)' }]);
  assert.throws(
    () => checkRole(noSlots, 'my-role.ts'),
    (e: unknown) => e instanceof LooptoolError && e.code === 'invalid_input' && e.message === 'my-role.ts: role "shouter" is not a valid role: concurrency: expected a whole number >= 1: how many requests one replica serves at once',
  );
});

test('node.serve refuses a role that is not valid, and serves the same role once it is', async () => {
  const bus = await startTestBus();
  try {
    const node = await bus.node('role-shape');
    const { concurrency: _c, ...noSlots } = good;
    await assert.rejects(node.serve(noSlots as never), /role "shouter" is not a valid role: concurrency/);
    await node.serve(good);
    assert.deepEqual(await node.call(contract, 'shout', { text: 'now' }), { text: 'NOW' });
  } finally {
    await bus.stop();
  }
});
