import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export const CLI = ['--import', 'tsx', 'runtime/cli/main.ts'];

export type CliProcess = {
  child: ChildProcess;
  /**
   * Resolves with the first stdout or stderr line from now on that matches; with `printed`,
   * with one already printed if there is one (a line that may have come before the call:
   * waiting only for lines to come would wait out the timeout).
   */
  line(match: RegExp, timeoutMs?: number, opts?: { printed?: boolean }): Promise<string>;
  /** stdout and stderr so far, interleaved as they arrived */
  output(): string;
  exited: Promise<number | null>;
  /** the exit code, or 'hung' (and the child killed) when it is still running after `ms` */
  exitedWithin(ms: number): Promise<number | null | 'hung'>;
};

/** A `looptool` command in a child process, as a person would run it (no colour). */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: { re: RegExp; resolve(l: string): void }[] = [];
  const onLine = (l: string) => {
    out += `${l}\n`;
    for (const w of waiters.splice(0)) (w.re.test(l) ? w.resolve(l) : waiters.push(w));
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  // 'close', not 'exit': by then both pipes are read, so output() holds the last lines too
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return {
    child,
    output: () => out,
    exited,
    exitedWithin: async (ms) => {
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), ms)));
      const code = await Promise.race([exited, hung]);
      clearTimeout(timer);
      if (code === 'hung') child.kill('SIGKILL');
      return code;
    },
    line: (re, timeoutMs = 120_000, opts = {}) => {
      const seen = opts.printed ? out.split('\n').find((l) => re.test(l)) : undefined;
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line ${re} within ${timeoutMs} ms: ${out}`)), timeoutMs);
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exited.then((c) => {
          clearTimeout(timer);
          reject(new Error(`exited ${c} before ${re}: ${out}`));
        });
      });
    },
  };
}
