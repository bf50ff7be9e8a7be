import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startEmbeddedNats, type EmbeddedNats } from '../../runtime/bus/server.ts';
import { TracePublisher } from '../../runtime/bus/trace-publisher.ts';
import { ensureTraceStream } from '../../runtime/bus/trace-stream.ts';
import { TraceBatch, traceSubject } from '../../protocols/trace.ts';
import { decodeJson } from '../../runtime/bus/codec.ts';

/*
 * Trace batches against a server that takes at most 64 KB a message (an external server's
 * default is 1 MB; the embedded one takes 8 MB): a batch above the limit went out as one
 * message, which the client refused by throwing into the code that emitted the event, or
 * out of the flush timer. Now it goes as several messages, and only an event that alone
 * exceeds the limit is left out, counted in `dropped`.
 */

let dir: string;
let server: EmbeddedNats;
let nc: NatsConnection;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'looptool-trace-'));
  server = await startEmbeddedNats({ storeDir: join(dir, 'nats'), config: 'max_payload: 65536\n' });
  nc = await connect({ servers: server.url });
  await ensureTraceStream(nc);
});
after(async () => {
  await nc?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Events received on `run`'s subject for role x, kind log, until `close` resolves and the bus is flushed. */
async function publishAndCount(acked: boolean, run: string): Promise<{ ids: number[]; messages: number; dropped: number }> {
  const ids: number[] = [];
  let messages = 0;
  const sub = nc.subscribe(traceSubject(run, 'x', 'log'), {
    callback: (_err, msg) => {
      messages++;
      const d = decodeJson(msg.data);
      if (d.ok) for (const e of TraceBatch.parse(d.value).events) ids.push((e.data as { i: number }).i);
    },
  });
  const tp = new TracePublisher(nc, run, { acked, maxBatch: 1024, flushMs: 1000 });
  // 300 events of ~1 KB: ~300 KB in one batch; event 150 alone is ~100 KB
  for (let i = 0; i < 300; i++) tp.emit({ role: 'x', kind: 'log', data: { i, text: 'a'.repeat(i === 150 ? 100_000 : 1000) } });
  await tp.close();
  await nc.flush();
  sub.unsubscribe();
  return { ids, messages, dropped: tp.dropped };
}

for (const acked of [false, true]) {
  test(`a batch over the server's max_payload goes as several messages; an event over it alone is dropped and counted (${acked ? 'acked JetStream publishes' : 'plain publishes'})`, async () => {
    const r = await publishAndCount(acked, acked ? 'acked' : 'plain');
    assert.equal(r.dropped, 1);
    assert.deepEqual(r.ids, Array.from({ length: 300 }, (_, i) => i).filter((i) => i !== 150), 'every other event, in order, once');
    assert.ok(r.messages >= 5, `${r.messages} messages for ~300 KB under a 64 KB limit`);
  });
}
