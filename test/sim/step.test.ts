import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallFn, RoleContract } from '../../protocols/role.ts';
import { gatedCall } from '../../runtime/sim-session.ts';

// `sim --step` waits once per message: the calls that make one message (self-consistency
// samples, a third sample asked for after two disagreed, a redrawn bad turn) share one
// step prompt. The call function here only records; the gate is what is under test.

const contract = (name: string) => ({ name }) as unknown as RoleContract;

test('one step prompt per message, however many calls make it', async () => {
  const gates: string[] = [];
  let messages = 0;
  const calls: string[] = [];
  const call = (async (c: RoleContract) => {
    calls.push(c.name);
    return {};
  }) as unknown as CallFn;
  const gated = gatedCall(call, async (role) => void gates.push(`${role}@${messages}`), () => messages);
  const assistant = contract('assistant');
  // two samples at once, then a third after both returned: still the same message
  await Promise.all([gated(assistant, 'respond', {}), gated(assistant, 'respond', {})]);
  await gated(assistant, 'respond', {});
  assert.deepEqual(gates, ['assistant@0']);
  // the message joined the dialogue: the tool's turn, then the assistant's next one, each gated once
  messages = 1;
  await gated(contract('tool'), 'respond', {});
  await gated(contract('tool'), 'respond', {});
  messages = 2;
  await gated(assistant, 'respond', {});
  assert.deepEqual(gates, ['assistant@0', 'tool@1', 'assistant@2']);
  // roles that add no message (the judge, the validator) are never gated
  await gated(contract('judge'), 'vote', {});
  assert.equal(gates.length, 3);
  assert.equal(calls.length, 7);
});
