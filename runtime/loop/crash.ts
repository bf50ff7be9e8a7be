/**
 * Crash injection for resume tests: `LOOPTOOL_CRASH_AT=<stage>@<round>[:<items>]` makes the
 * process SIGKILL itself inside that stage: once `<items>` of its items are finished and
 * recorded (default 0: as soon as its work starts; for the training stages, once the
 * trainer has reported its first step). A real SIGKILL, at a point a test can name, so that
 * "killed inside each stage, then resumed" is checked deterministically. Unset, it costs
 * one string comparison per call.
 */
const spec = process.env.LOOPTOOL_CRASH_AT;
const m = spec ? /^([a-z]+)@(\d+)(?::(\d+))?$/.exec(spec) : null;
if (spec && !m) throw new Error(`LOOPTOOL_CRASH_AT="${spec}": expected <stage>@<round>[:<items>]`);
const target = m ? { stage: m[1]!, round: Number(m[2]), items: Number(m[3] ?? 0) } : undefined;

export function crashPoint(stage: string, round: number, itemsDone: number): void {
  if (!target || target.stage !== stage || target.round !== round || itemsDone < target.items) return;
  process.stderr.write(`LOOPTOOL_CRASH_AT ${spec}: killing myself (pid ${process.pid})\n`);
  process.kill(process.pid, 'SIGKILL');
}
