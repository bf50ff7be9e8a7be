/**
 * Ctrl-C and SIGTERM abort a long command's work instead of killing the process, so it
 * can stop cleanly and keep what is finished. `dispose` stops listening.
 */
export type Interrupt = { readonly signal: AbortSignal; readonly interrupted: boolean; dispose(): void };

export function interruptOnSignals(): Interrupt {
  const abort = new AbortController();
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
