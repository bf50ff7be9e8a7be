import type { TraceEvent } from '../../protocols/trace.ts';

export type SseMessage = { event: string; data: unknown };

/**
 * A small server-sent-events reader over fetch, for tests: collects every message,
 * lets a test wait for a condition, and stops when asked or when the server ends.
 */
export class SseReader {
  readonly messages: SseMessage[] = [];
  status = 0;
  private abort = new AbortController();
  private waiters: (() => void)[] = [];
  done: Promise<void>;
  ended = false;

  constructor(url: string) {
    this.done = this.read(url);
  }

  private async read(url: string): Promise<void> {
    try {
      const res = await fetch(url, { signal: this.abort.signal });
      this.status = res.status;
      if (!res.body) return;
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length) this.messages.push({ event, data: JSON.parse(data.join('\n')) });
          this.wake();
        }
      }
    } catch (err) {
      if (!this.abort.signal.aborted) throw err;
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Trace events received so far, in arrival order. */
  events(): TraceEvent[] {
    return this.messages.filter((m) => m.event === 'events').flatMap((m) => m.data as TraceEvent[]);
  }

  has(event: string): boolean {
    return this.messages.some((m) => m.event === event);
  }

  async until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (this.ended) throw new Error(`stream ended before ${what}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${this.messages.map((m) => m.event).join(',')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): void {
    this.abort.abort();
  }
}
