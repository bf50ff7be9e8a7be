import { defineCommand, EXIT, UsageError } from '../command.ts';
import { intFlag, parseFlags, untilSignal } from '../args.ts';
import { listRuns, locateTrace, nextLiveRun, TraceSourceError } from '../../bus/trace-locate.ts';
import { startViewServer } from '../../view/server.ts';
import { childLogger } from '../../log.ts';
import { bold, dim } from '../../terminal.ts';

export const DEFAULT_VIEW_PORT = 4747;

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1|\[::1\])$/;

export default defineCommand({
  name: 'view',
  summary: 'serve a local web page with the live trace: messages, dialogues, the loop state, charts (replays finished runs)',
  usage: 'view [--run ID] [--list] [--port N] [--host ADDR] [--nats URL]   (no --run: the newest live run; port 0 = any free port; host 127.0.0.1 unless given)',
  async run(argv) {
    const { values } = parseFlags(argv, {
      run: { type: 'string' },
      list: { type: 'boolean', default: false },
      port: { type: 'string' },
      host: { type: 'string' },
      nats: { type: 'string' },
    });
    if (values.list) {
      const lines = listRuns();
      console.log(lines.length ? lines.join('\n') : dim('no runs (live or finished) here'));
      return EXIT.ok;
    }
    const port = intFlag(values.port, 'port', DEFAULT_VIEW_PORT, 0);
    if (port > 65535) throw new UsageError('--port expects 0..65535');
    // The page has no login: anyone who can reach the port reads the whole trace.
    if (values.host && !LOOPBACK.test(values.host))
      console.error(bold(`warning: --host ${values.host} serves the trace (every message of the run) to anyone who can reach this port; there is no login`));
    const source = await locateTrace({ run: values.run, nats: values.nats }).catch((err: unknown) => {
      throw err instanceof TraceSourceError ? new UsageError(err.message) : err;
    });
    let name = source.label ?? source.run;
    let server;
    try {
      server = await startViewServer({
        nc: source.nc,
        live: source.live,
        run: source.run,
        label: source.label,
        liveRun: source.liveRun,
        dir: source.dir,
        host: values.host,
        port,
        log: childLogger({ cmd: 'view' }),
        onEnd: (end) => console.log(end.status === 'finished' ? `run ${name} finished` : `run ${name} failed: ${end.reason ?? 'no reason given'}`),
        // Watching "the live run" (no --run): a demo's or an ablation's next variant takes over.
        next:
          values.run || values.nats
            ? undefined
            : async (ended, signal) => {
                const found = await nextLiveRun(ended, { signal });
                if (found) {
                  name = found.label ?? found.run;
                  console.log(`now watching run ${name} (live; the page follows)`);
                }
                return found;
              },
      });
    } catch (err) {
      await source.close();
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`port ${port} is taken; pass --port N (0 picks a free one)`);
      throw err;
    }
    const what = source.live ? `live run ${name ?? '(all runs on the bus)'} on ${source.url}` : `replay of finished run ${name}`;
    console.log(`${bold('looptool view')}: ${server.url}  ${dim(`(${what}; Ctrl-C to stop)`)}`);
    const sig = await untilSignal();
    console.log(`\n${sig}: stopping the viewer`);
    await server.close();
    await source.close();
    return EXIT.ok;
  },
});
