import { defineCommand, EXIT, UsageError } from '../command.ts';
import { parseFlags } from '../args.ts';
import { readTrace } from '../../trace/stream.ts';
import { listRuns, locateTrace, TraceSourceError } from '../../trace/locate.ts';
import { RunWatch } from '../../view/run-watch.ts';
import { formatTraceLine } from '../trace-format.ts';
import { dim } from '../style.ts';
import type { TraceEvent } from '../../../protocols/trace.ts';

export default defineCommand({
  name: 'trace',
  summary: 'print trace events, one line each, live (--follow) or replayed from the stream',
  usage: 'trace [--run ID] [--role R] [--follow] [--list] [--json] [--nats URL]   (no --run with --follow: the newest live run)',
  async run(argv) {
    const { values } = parseFlags(argv, {
      run: { type: 'string' },
      role: { type: 'string' },
      follow: { type: 'boolean', short: 'f' },
      list: { type: 'boolean', default: false },
      json: { type: 'boolean' },
      nats: { type: 'string' },
    });
    if (values.list) {
      const lines = listRuns();
      console.log(lines.length ? lines.join('\n') : dim('no runs (live or finished) here'));
      return EXIT.ok;
    }
    const source = await locateTrace({ run: values.run, nats: values.nats, follow: values.follow }).catch((err: unknown) => {
      throw err instanceof TraceSourceError ? new UsageError(err.message) : err;
    });
    const nc = source.nc;
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    const print = (e: TraceEvent) => console.log(values.json ? JSON.stringify(e) : formatTraceLine(e));
    const name = source.label ?? source.run;
    try {
      if (values.follow) {
        if (!values.json) console.error(dim(`following run ${name ?? '(every run on the bus)'} on ${source.url}; Ctrl-C to stop`));
        // The run's end stops the follow once, with its outcome, instead of a hang on a dead bus.
        const watch = new RunWatch({ nc, live: true, run: source.run, liveRun: source.liveRun });
        let outcome = '';
        watch.onEnd((end) => {
          outcome = end.status === 'finished' ? `run ${name} finished` : `run ${name} failed: ${end.reason ?? 'no reason given'}`;
          setTimeout(() => abort.abort(), 400);
        });
        try {
          for await (const e of readTrace(nc, { run: source.run, role: values.role, follow: true, signal: abort.signal })) print(e);
        } catch (err) {
          if (!outcome) throw err;
        } finally {
          await watch.close();
        }
        if (outcome) console.error(outcome);
      } else {
        // Batches are per subject, so a replay is sorted by time before printing.
        const all: TraceEvent[] = [];
        for await (const e of readTrace(nc, { run: source.run, role: values.role })) all.push(e);
        all.sort((a, b) => a.ts - b.ts).forEach(print);
        if (all.length === 0) console.error(`no trace events match${source.run ? ` run ${source.run}` : ''}${values.role ? ` role ${values.role}` : ''}`);
      }
    } finally {
      await source.close();
    }
    return EXIT.ok;
  },
});
