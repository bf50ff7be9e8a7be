/**
 * Ctrl-C and SIGTERM abort a long command's work instead of killing the process, so it
 * can stop cleanly and keep what is finished. `dispose` stops listening.
 */
import { setMaxListeners } from 'node:events';

export type Interrupt = { readonly signal: AbortSignal; readonly interrupted: boolean; dispose(): void };

export function interruptOnSignals(): Interrupt {
  const abort = new AbortController();
  // Every dialogue, stage and request in flight listens for it: far more than Node's
  // default of 10, which otherwise prints MaxListenersExceededWarning on stderr.
  setMaxListeners(4096, abort.signal);
  // Listening stays on after the first signal (not `once`): a handler that sees no other
  // listener takes the signal as unhandled and exits (the embedded server's, in
  // runtime/bus/server.ts), which cut every clean stop short. A second signal quits at once.
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
    process.stderr.write('stopping (finished work is kept); Ctrl-C again quits at once\n');
    abort.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: abort.signal,
    get interrupted() {
      return abort.signal.aborted;
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
