import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redrawCopiedValues, wordPool } from '../../protocols/sample-redraw.ts';
import { rng } from '../../protocols/rng.ts';
import type { Sample } from '../../protocols/sample.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';

type Redrawable = Pick<Sample, 'tools' | 'context' | 'label'>;

const tool = (name: string, properties: ToolSpec['parameters']['properties']): ToolSpec => ({ name, description: name.replace(/_/g, ' '), parameters: { type: 'object', properties, required: [] } });

const booking: Redrawable = {
  tools: [tool('book_tickets', { showtime_id: { type: 'string' }, tickets: { type: 'integer' }, city: { type: 'string' }, seat: { type: 'string', enum: ['aisle', 'window', 'middle'] }, date: { type: 'string' }, note: { type: 'string' } })],
  context: [
    { role: 'user', content: 'Book 4 tickets for showtime EV-14586 in Chicago on 2026-09-13, an aisle seat, twenty minutes early.' },
    { role: 'assistant', content: '', tool_calls: [{ name: 'book_tickets', arguments: { showtime_id: 'EV-14586', tickets: 4 } }] },
    { role: 'tool', name: 'book_tickets', content: '{"error":"showtime EV-14586 needs a city"}' },
  ],
  label: { type: 'calls', calls: [{ name: 'book_tickets', arguments: { showtime_id: 'EV-14586', tickets: 4, city: 'Chicago', seat: 'aisle', date: '2026-09-13', note: 'early arrival' } }] },
};
const pool = wordPool([booking, { label: { type: 'calls', calls: [{ name: 'x', arguments: { city: 'Lagos' } }] } }]);

test('every copied value gets a fresh draw, the same in the conversation, earlier calls and the label', () => {
  const out = redrawCopiedValues(booking, rng('t', 1), pool);
  assert.equal(out.label.type, 'calls');
  const args = out.label.type === 'calls' ? out.label.calls[0]!.arguments : {};
  assert.match(String(args.showtime_id), /^EV-[1-9]\d{4}$/);
  assert.notEqual(args.showtime_id, 'EV-14586');
  assert.equal(args.city, 'Lagos');
  assert.ok(['window', 'middle'].includes(String(args.seat)), `an enum value is re-drawn among the tool's other options, got ${String(args.seat)}`);
  assert.match(String(args.date), /^\d{4}-\d{2}-\d{2}$/);
  assert.ok(!Number.isNaN(Date.parse(String(args.date))), 'a re-drawn ISO date is a real date');
  assert.equal(typeof args.tickets, 'number');
  assert.ok(Number(args.tickets) >= 1 && Number(args.tickets) <= 9);
  // a value the conversation does not hold verbatim teaches something else, and stays
  assert.equal(args.note, 'early arrival');
  const user = out.context[0]!.content;
  assert.equal(user, `Book ${String(args.tickets)} tickets for showtime ${String(args.showtime_id)} in Lagos on ${String(args.date)}, an ${String(args.seat)} seat, twenty minutes early.`);
  const earlier = out.context[1]!;
  assert.deepEqual(earlier.role === 'assistant' && earlier.tool_calls[0]!.arguments, { showtime_id: args.showtime_id, tickets: args.tickets });
  assert.equal(out.context[2]!.content, `{"error":"showtime ${String(args.showtime_id)} needs a city"}`);
  assert.deepEqual(out.tools, booking.tools);
});

test('the draw depends on its seed alone, and the input is not changed', () => {
  const before = structuredClone(booking);
  assert.deepEqual(redrawCopiedValues(booking, rng('t', 2), pool), redrawCopiedValues(booking, rng('t', 2), pool));
  assert.notDeepEqual(redrawCopiedValues(booking, rng('t', 2), pool), redrawCopiedValues(booking, rng('t', 3), pool));
  assert.deepEqual(booking, before);
});

test('only whole values are replaced: a number inside a longer number or word stays', () => {
  const s: Redrawable = {
    tools: [tool('set_level', { level: { type: 'integer' } })],
    context: [{ role: 'user', content: 'Set level 7 on unit A7 and room 172.' }],
    label: { type: 'calls', calls: [{ name: 'set_level', arguments: { level: 7 } }] },
  };
  const out = redrawCopiedValues(s, rng('t', 4), wordPool([s]));
  const level = out.label.type === 'calls' ? out.label.calls[0]!.arguments.level : null;
  assert.equal(out.context[0]!.content, `Set level ${String(level)} on unit A7 and room 172.`);
});

test('a sample with nothing to copy comes back as it is', () => {
  const s: Redrawable = { tools: [], context: [{ role: 'user', content: 'Tell me a joke about 42.' }], label: { type: 'text', text: 'I cannot help with that.' } };
  assert.equal(redrawCopiedValues(s, rng('t', 5), wordPool([s])), s);
});
