/** Terminal colours and progress, with no dependency: plain text when not a TTY or NO_COLOR is set. */
const useColor = () => process.stdout.isTTY && !process.env.NO_COLOR;

const PALETTE = [36, 33, 35, 32, 34, 31, 96, 93, 95, 92, 94, 91];

export function colorFor(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}

export function paint(text: string, code: number): string {
  return useColor() ? `\x1b[${code}m${text}\x1b[0m` : text;
}

export const dim = (t: string) => paint(t, 2);
export const bold = (t: string) => paint(t, 1);

/**
 * A one-line progress bar on stderr: redrawn in place on a TTY; otherwise a line per 10 %,
 * and at least one a minute, so a long phase in a log (the nano build's ~1,800 steps) is
 * never silent for minutes.
 */
/** A span of time for a person: seconds under two minutes, then minutes, then hours and minutes. */
export function durationText(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export class Progress {
  private done = 0;
  private lastPct = -1;
  private readonly started: number;
  private lastLine: number;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly now: () => number = Date.now,
    private readonly quietMs = 60_000,
  ) {
    this.started = this.lastLine = now();
  }

  tick(n = 1, note = ''): void {
    this.done += n;
    this.draw(note);
  }

  set(done: number, note = ''): void {
    this.done = done;
    this.draw(note);
  }

  private draw(note: string): void {
    const pct = this.total > 0 ? Math.min(100, Math.floor((100 * this.done) / this.total)) : 100;
    const t = this.now();
    const secs = (t - this.started) / 1000;
    if (process.stderr.isTTY) {
      const width = 24;
      const fill = Math.round((pct / 100) * width);
      const bar = '█'.repeat(fill) + '░'.repeat(width - fill);
      process.stderr.write(`\r${this.label} ${bar} ${this.done}/${this.total} ${secs.toFixed(1)}s ${note}`.slice(0, process.stderr.columns || 120).padEnd(Math.min(process.stderr.columns || 120, 100)));
    } else if (Math.floor(pct / 10) !== Math.floor(this.lastPct / 10) || this.done === this.total || t - this.lastLine >= this.quietMs) {
      process.stderr.write(`${this.label} ${this.done}/${this.total} (${pct}%) ${secs.toFixed(1)}s ${note}\n`);
      this.lastLine = t;
    }
    this.lastPct = pct;
  }

  end(note = ''): void {
    if (process.stderr.isTTY) {
      this.draw(note);
      process.stderr.write('\n');
    } else if (this.lastPct !== 100) this.draw(note);
  }
}
