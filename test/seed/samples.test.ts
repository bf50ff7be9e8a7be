import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatMessage } from '../../protocols/messages.ts';
import type { TurnRecord } from '../../protocols/dialogue.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import { Sample } from '../../protocols/sample.ts';
import { contextBefore, dialogueSamples, sampleId, sampleToOpenAI } from '../../protocols/samples.ts';
import { appendJsonl, exportOpenAI, readJsonl } from '../../runtime/corpus.ts';
import { LooptoolError } from '../../protocols/errors.ts';

const tool: ToolSpec = {
  name: 'find_flights',
  description: 'Search flights.',
  parameters: { type: 'object', properties: { origin: { type: 'string' }, date: { type: 'string' } }, required: ['origin', 'date'] },
};
const call = (origin: string, id?: string) => ({ ...(id ? { id } : {}), name: 'find_flights', arguments: { origin, date: '2026-03-03' } });

// user(0) asst-clarify(1) user(2) asst-call(3) tool(4) asst-summary(5) user(6) asst-call(7) tool-error(8) asst(9) user(10) asst-refuse(11)
const messages: ChatMessage[] = [
  { role: 'user', content: 'find me a flight' },
  { role: 'assistant', content: 'From where, and when?', tool_calls: [] },
  { role: 'user', content: 'from Oslo on March 3rd' },
  { role: 'assistant', content: '', tool_calls: [call('Oslo', 'c1')] },
  { role: 'tool', tool_call_id: 'c1', name: 'find_flights', content: '{"results":[]}' },
  { role: 'assistant', content: 'Nothing found.', tool_calls: [] },
  { role: 'user', content: 'try Bergen' },
  { role: 'assistant', content: '', tool_calls: [call('Bergen')] },
  { role: 'tool', name: 'find_flights', content: '{"error":"service down"}' },
  { role: 'assistant', content: 'The service is down.', tool_calls: [] },
  { role: 'user', content: 'what is the capital of Peru?' },
  { role: 'assistant', content: 'I cannot look that up with these tools.', tool_calls: [] },
];
const truth = { label: { type: 'calls' as const, calls: [call('Oslo')] }, noisy: true, noise: 'wrong_value' };
const turns: TurnRecord[] = [
  { message: 1, step: 0, kind: 'clarify', samples: 2, agreed: true, masked: false, toolErrors: [] },
  { message: 3, step: 0, kind: 'single', samples: 3, agreed: false, masked: true, truth, toolErrors: [false] },
  { message: 5, step: 0, samples: 2, agreed: true, masked: false, toolErrors: [] },
  { message: 7, step: 1, kind: 'single', samples: 2, agreed: true, masked: false, toolErrors: [true] },
  { message: 9, step: 1, samples: 2, agreed: true, masked: false, toolErrors: [] },
  { message: 11, step: 2, kind: 'irrelevant', samples: 2, agreed: true, masked: false, toolErrors: [] },
];

test('samples: call turns without tool errors and no-call turns; summaries and failed calls are left out', () => {
  const samples = dialogueSamples({ id: 'd-1', tools: [tool], messages, turns });
  assert.deepEqual(samples.map((s) => [s.provenance.turn, s.kind, s.label.type]), [
    [1, 'clarify', 'text'],
    [3, 'single', 'calls'],
    [11, 'irrelevant', 'text'],
  ]);
  const [clarify, single, irrelevant] = samples;
  assert.deepEqual(clarify!.context, messages.slice(0, 1));
  assert.deepEqual(clarify!.label, { type: 'text', text: 'From where, and when?' });
  assert.equal(single!.masked, true, 'a turn without self-consistency agreement stays masked');
  assert.deepEqual(single!.truth, truth, 'the assistant\'s hidden truth rides along, noisy flag included');
  assert.deepEqual(single!.provenance, { source: 'seed', round: 0, dialogue: 'd-1', turn: 3 });
  assert.equal(irrelevant!.context.at(-1)!.role, 'user');
  for (const s of samples) Sample.parse(s);
});

test('sample ids are content-derived: stable across runs, distinct per turn and dialogue', () => {
  assert.equal(sampleId('d-1', 3), sampleId('d-1', 3));
  assert.notEqual(sampleId('d-1', 3), sampleId('d-1', 7));
  assert.notEqual(sampleId('d-1', 3), sampleId('d-2', 3));
  const a = dialogueSamples({ id: 'd-1', tools: [tool], messages, turns }).map((s) => s.id);
  const b = dialogueSamples({ id: 'd-1', tools: [tool], messages, turns }).map((s) => s.id);
  assert.deepEqual(a, b);
  assert.equal(new Set(a).size, a.length);
});

test('context keeps at most the last N user turns (and leading system messages)', () => {
  const sys: ChatMessage = { role: 'system', content: 'You are helpful.' };
  const withSys = [sys, ...messages];
  const ctx = contextBefore(withSys, 12, 2);
  assert.deepEqual(ctx[0], sys);
  assert.equal(ctx.filter((m) => m.role === 'user').length, 2);
  assert.deepEqual(ctx[1], messages[6]);
  assert.equal(contextBefore(withSys, 12, 8).length, 12);
  const few = dialogueSamples({ id: 'd-1', tools: [tool], messages, turns }, { contextUserTurns: 1 });
  assert.ok(few.every((s) => s.context.filter((m) => m.role === 'user').length === 1));
});

test('OpenAI fine-tuning export: messages + tools, calls linked to results, only the label trained', () => {
  const [, single, irrelevant] = dialogueSamples({ id: 'd-1', tools: [tool], messages, turns });
  const line = sampleToOpenAI(irrelevant!);
  assert.deepEqual(line.tools, [{ type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } }]);
  const last = line.messages.at(-1)!;
  assert.deepEqual(last, { role: 'assistant', content: 'I cannot look that up with these tools.', weight: 1 });
  const asst = line.messages.filter((m) => m.role === 'assistant');
  assert.ok(asst.slice(0, -1).every((m) => 'weight' in m && m.weight === 0));
  const withCalls = line.messages.find((m) => m.role === 'assistant' && m.tool_calls) as { tool_calls: { id: string; function: { arguments: string } }[] };
  const toolMsgs = line.messages.filter((m) => m.role === 'tool') as { tool_call_id: string }[];
  assert.equal(toolMsgs[0]!.tool_call_id, withCalls.tool_calls[0]!.id);
  // the call without an id got a stable one and its result points at it
  assert.equal(toolMsgs[1]!.tool_call_id, 'call_7_0');
  assert.equal(JSON.parse(withCalls.tool_calls[0]!.function.arguments).origin, 'Oslo');
  const callLine = sampleToOpenAI(single!);
  const label = callLine.messages.at(-1) as { tool_calls: { type: string; function: { name: string } }[]; content: null };
  assert.equal(label.content, null);
  assert.equal(label.tool_calls[0]!.type, 'function');
});

test('corpus JSONL: validated reads name the line and field; torn tails; masked samples left out of the export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'looptool-corpus-'));
  try {
    const samples = dialogueSamples({ id: 'd-1', tools: [tool], messages, turns });
    const path = join(dir, 'samples.jsonl');
    appendJsonl(path, samples);
    assert.equal(readJsonl(path, Sample).records.length, 3);
    // a torn last line (a crash mid-append) is skipped only when asked to
    appendFileSync(path, '{"id":"x","kin');
    assert.throws(() => readJsonl(path, Sample), (e: unknown) => e instanceof LooptoolError && /samples\.jsonl:4/.test(e.message));
    const r = readJsonl(path, Sample, { tolerateTornTail: true });
    assert.equal(r.torn, true);
    assert.equal(r.records.length, 3);
    // a bad record names its line and field
    const bad = { ...samples[0]!, kind: 'sideways' };
    writeFileSync(path, [samples[0], bad, samples[1]].map((s) => JSON.stringify(s)).join('\n') + '\n');
    assert.throws(
      () => readJsonl(path, Sample),
      (e: unknown) => e instanceof LooptoolError && /:2: invalid record/.test(e.message) && e.reply.issues.some((i) => i.path === 'line 2: kind'),
    );
    const out = join(dir, 'ft.jsonl');
    assert.equal(exportOpenAI(samples, out), 2);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.every((l) => Array.isArray(l.messages) && Array.isArray(l.tools)));
    assert.equal(exportOpenAI(samples, out, { includeMasked: true }), 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
