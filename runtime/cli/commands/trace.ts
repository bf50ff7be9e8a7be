import { defineCommand, EXIT, UsageError } from '../command.ts';
import { parseFlags } from '../args.ts';
import { readTrace } from '../../bus/trace-stream.ts';
import { listRuns, locateTrace, nextLiveRun, TraceSourceError, type TraceSource } from '../../bus/trace-locate.ts';
import { RunWatch } from '../../view/run-watch.ts';
import { inDialogue } from '../../view/source.ts';
import { formatTraceLine } from '../trace-format.ts';
import { dim } from '../../terminal.ts';
import type { TraceEvent } from '../../../protocols/trace.ts';

export default defineCommand({
  name: 'trace',
  summary: 'print trace events, one line each, live (--follow) or replayed from the stream',
  usage: 'trace [--run ID] [--role R] [--dialogue ID] [--follow] [--list] [--json] [--nats URL]   (no --run with --follow: the newest live run)',
  async run(argv) {
    const { values } = parseFlags(argv, {
      run: { type: 'string' },
      role: { type: 'string' },
      dialogue: { type: 'string' },
      follow: { type: 'boolean', short: 'f' },
      list: { type: 'boolean', default: false },
      json: { type: 'boolean' },
      nats: { type: 'string' },
    });
    if (values.dialogue === '') throw new UsageError('--dialogue must name a dialogue (the id the viewer shows, e.g. r1.probe.<sample>)');
    if (values.list) {
      const lines = listRuns();
      console.log(lines.length ? lines.join('\n') : dim('no runs (live or finished) here'));
      return EXIT.ok;
    }
    const source = await locateTrace({ run: values.run, nats: values.nats, follow: values.follow }).catch((err: unknown) => {
      throw err instanceof TraceSourceError ? new UsageError(err.message) : err;
    });
    const interrupted = new AbortController();
    process.once('SIGINT', () => interrupted.abort());
    // one dialogue: a seed dialogue, or a loop round's probe or expansion (`r<j>.probe.<sample>`), as the viewer names them
    const wanted = (e: TraceEvent) => values.dialogue === undefined || inDialogue(e, values.dialogue);
    const print = (e: TraceEvent) => console.log(values.json ? JSON.stringify(e) : formatTraceLine(e));
    if (!values.follow) {
      try {
        // Batches are per subject, so a replay is sorted by time before printing.
        const all: TraceEvent[] = [];
        for await (const e of readTrace(source.nc, { run: source.run, role: values.role })) all.push(e);
        const shown = all.filter(wanted).sort((a, b) => a.ts - b.ts);
        shown.forEach(print);
        if (shown.length === 0) console.error(`no trace events match${source.run ? ` run ${source.run}` : ''}${values.role ? ` role ${values.role}` : ''}${values.dialogue ? ` dialogue ${values.dialogue}` : ''}`);
      } finally {
        await source.close();
      }
      return EXIT.ok;
    }
    // Following "the live run" (no --run): a demo's or an ablation's next variant takes over.
    for (let cur: TraceSource | undefined = source; cur; ) {
      try {
        await followRun(cur, values.role, values.json, (e) => wanted(e) && print(e), interrupted.signal);
      } finally {
        await cur.close();
      }
      cur = values.run || values.nats || interrupted.signal.aborted ? undefined : await nextLiveRun(cur, { signal: interrupted.signal });
    }
    return EXIT.ok;
  },
});

/** Prints a run's events as they come until the run ends (said once, with its outcome) or Ctrl-C. */
async function followRun(source: TraceSource, role: string | undefined, json: boolean | undefined, print: (e: TraceEvent) => void, interrupted: AbortSignal): Promise<void> {
  const name = source.label ?? source.run;
  if (!json) console.error(dim(`following run ${name ?? '(every run on the bus)'} on ${source.url}; Ctrl-C to stop`));
  const abort = new AbortController();
  const stop = () => abort.abort();
  interrupted.addEventListener('abort', stop, { once: true });
  // The run's end stops the follow once, with its outcome, instead of a hang on a dead bus.
  const watch = new RunWatch({ nc: source.nc, live: true, run: source.run, liveRun: source.liveRun });
  let outcome = '';
  watch.onEnd((end) => {
    outcome = end.status === 'finished' ? `run ${name} finished` : `run ${name} failed: ${end.reason ?? 'no reason given'}`;
    setTimeout(stop, 400);
  });
  try {
    for await (const e of readTrace(source.nc, { run: source.run, role, follow: true, signal: abort.signal })) print(e);
  } catch (err) {
    if (!outcome) throw err;
  } finally {
    interrupted.removeEventListener('abort', stop);
    await watch.close();
  }
  if (outcome) console.error(outcome);
}
