import { connect } from '@nats-io/transport-node';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { parseFlags } from '../args.ts';
import { findLiveBus } from '../../bus-file.ts';
import { busConfigFromEnv, connectionOptions } from '../../nats/connect.ts';
import { startEmbeddedNats, type EmbeddedNats } from '../../nats/server.ts';
import { readTrace } from '../../trace/stream.ts';
import { runsRoot } from '../../rundir.ts';
import { formatTraceLine } from '../trace-format.ts';
import type { TraceEvent } from '../../../protocols/trace.ts';

export default defineCommand({
  name: 'trace',
  summary: 'print trace events, one line each, live (--follow) or replayed from the stream',
  usage: 'trace [--run ID] [--role R] [--follow] [--json] [--nats URL]',
  async run(argv) {
    const { values } = parseFlags(argv, {
      run: { type: 'string' },
      role: { type: 'string' },
      follow: { type: 'boolean', short: 'f' },
      json: { type: 'boolean' },
      nats: { type: 'string' },
    });
    const runDirPath = values.run ? join(runsRoot(), values.run) : undefined;
    const live = findLiveBus(runDirPath && existsSync(join(runDirPath, 'bus.json')) ? runDirPath : undefined);
    let url = values.nats ?? process.env.NATS_URL ?? live?.url;
    let replayServer: EmbeddedNats | undefined;
    if (!url) {
      // Nothing running: replay a finished run from the store its embedded server left behind.
      const store = runDirPath ? join(runDirPath, 'nats') : undefined;
      if (!store || !existsSync(store)) throw new UsageError('no live bus found; pass --run ID of a finished run (runs/<id>/nats) or --nats URL');
      if (values.follow) throw new UsageError(`run ${values.run} is not live; drop --follow to replay it`);
      replayServer = await startEmbeddedNats({ storeDir: store });
      url = replayServer.url;
    }
    const nc = await connect(connectionOptions(busConfigFromEnv({ url }), url));
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    const print = (e: TraceEvent) => console.log(values.json ? JSON.stringify(e) : formatTraceLine(e));
    try {
      if (values.follow) {
        for await (const e of readTrace(nc, { run: values.run, role: values.role, follow: true, signal: abort.signal })) print(e);
      } else {
        // Batches are per subject, so a replay is sorted by time before printing.
        const all: TraceEvent[] = [];
        for await (const e of readTrace(nc, { run: values.run, role: values.role })) all.push(e);
        all.sort((a, b) => a.ts - b.ts).forEach(print);
        if (all.length === 0) console.error('no trace events match');
      }
    } finally {
      await nc.close();
      await replayServer?.stop();
    }
    return EXIT.ok;
  },
});
