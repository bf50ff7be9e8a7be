import { defineCommand, EXIT, UsageError } from '../command.ts';
import { intFlag, parseFlags, untilSignal } from '../args.ts';
import { locateTrace, TraceSourceError } from '../../trace/locate.ts';
import { startViewServer } from '../../view/server.ts';
import { childLogger } from '../../log.ts';
import { bold, dim } from '../style.ts';

export const DEFAULT_VIEW_PORT = 4747;

export default defineCommand({
  name: 'view',
  summary: 'serve a local web page with the live trace: messages, dialogues, the loop state, charts (replays finished runs)',
  usage: 'view [--run ID] [--port N] [--host ADDR] [--nats URL]   (port 0 = any free port; host 127.0.0.1 unless given)',
  async run(argv) {
    const { values } = parseFlags(argv, {
      run: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      nats: { type: 'string' },
    });
    const port = intFlag(values.port, 'port', DEFAULT_VIEW_PORT, 0);
    if (port > 65535) throw new UsageError('--port expects 0..65535');
    const source = await locateTrace({ run: values.run, nats: values.nats }).catch((err: unknown) => {
      throw err instanceof TraceSourceError ? new UsageError(err.message) : err;
    });
    let server;
    try {
      server = await startViewServer({ nc: source.nc, live: source.live, run: source.run, host: values.host, port, log: childLogger({ cmd: 'view' }) });
    } catch (err) {
      await source.close();
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`port ${port} is taken; pass --port N (0 picks a free one)`);
      throw err;
    }
    const what = source.live ? `live bus ${source.url}` : `replay of finished run ${values.run}`;
    console.log(`${bold('looptool view')}: ${server.url}  ${dim(`(${what}${source.run ? `, run ${source.run}` : ''}; Ctrl-C to stop)`)}`);
    const sig = await untilSignal();
    console.log(`\n${sig}: stopping the viewer`);
    await server.close();
    await source.close();
    return EXIT.ok;
  },
});
