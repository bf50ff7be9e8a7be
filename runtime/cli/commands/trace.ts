import { defineCommand, EXIT, UsageError } from '../command.ts';
import { parseFlags } from '../args.ts';
import { readTrace } from '../../trace/stream.ts';
import { locateTrace, TraceSourceError } from '../../trace/locate.ts';
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
    const source = await locateTrace({ run: values.run, nats: values.nats, follow: values.follow }).catch((err: unknown) => {
      throw err instanceof TraceSourceError ? new UsageError(err.message) : err;
    });
    const nc = source.nc;
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
      await source.close();
    }
    return EXIT.ok;
  },
});
