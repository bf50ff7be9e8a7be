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
  const onSignal = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
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
