import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, connect as tcpConnect } from 'node:net';
import { LooptoolError } from '../../protocols/errors.ts';

export type EmbeddedNats = {
  url: string;
  port: number;
  pid: number;
  storeDir: string;
  /**
   * Resolves when the server process ends for any reason other than `stop()` (killed,
   * crashed), with how it ended; never resolves after a `stop()`.
   */
  died: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
};

const INSTALL_HINT =
  'nats-server was not found. Install it (Debian: `apt-get install -y nats-server`, or run `npm run setup` as root), ' +
  'or point looptool at an existing server with NATS_URL=nats://host:4222.';

export function findNatsServer(
  candidates = [process.env.LOOPTOOL_NATS_SERVER, 'nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].filter(Boolean) as string[],
): string | undefined {
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const live = new Set<ChildProcess>();
let hooksInstalled = false;
let signalled = false;

/** True once this process was asked to stop (Ctrl-C, SIGTERM) and stopped its servers itself: their exit is no failure. */
export function stoppingOnSignal(): boolean {
  return signalled;
}

// Kill every embedded server when this process goes, however it goes. SIGKILL of
// the parent is covered by the kernel (PR_SET_PDEATHSIG through setpriv).
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      signalled = true;
      for (const c of live) c.kill('SIGTERM');
      // Re-raise the default behaviour only when nobody else handles the signal.
      if (process.listenerCount(sig) === 0) process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

function hasSetpriv(): boolean {
  return spawnSync('setpriv', ['--help'], { encoding: 'utf8' }).status === 0;
}

/**
 * Starts a private nats-server on a free loopback port with JetStream, its store in
 * `storeDir`, and waits until it accepts connections.
 */
export async function startEmbeddedNats(opts: {
  storeDir: string;
  port?: number;
  timeoutMs?: number;
  candidates?: string[];
  /** more server configuration (a cluster block, a server name), appended to the config file */
  config?: string;
}): Promise<EmbeddedNats> {
  const bin = findNatsServer(opts.candidates);
  if (!bin) throw new LooptoolError({ code: 'internal', message: INSTALL_HINT });
  mkdirSync(opts.storeDir, { recursive: true });
  const timeoutMs = opts.timeoutMs ?? 10_000;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = opts.port ?? (await freePort());
    // Payload size is only settable in a config file; batches of completions can exceed the 1 MB default.
    const conf = join(opts.storeDir, 'server.conf');
    writeFileSync(conf, `max_payload: 8388608\n${opts.config ?? ''}`);
    const args = ['-c', conf, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', opts.storeDir];
    const [cmd, argv] = hasSetpriv() ? ['setpriv', ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(child);
    installExitHooks();
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    child.once('exit', () => live.delete(child));
    const started = Date.now();
    let ready = false;
    let died = false;
    void exited.then(() => {
      died = true;
    });
    while (!died && Date.now() - started < timeoutMs) {
      // "Server is ready" means JetStream recovered its store too; the TCP check alone is not enough.
      if (stderr.includes('Server is ready') && (await canConnect(port))) {
        ready = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    if (ready) {
      child.stderr?.removeAllListeners('data');
      child.stderr?.resume();
      let stopping = false;
      return {
        url: `nats://127.0.0.1:${port}`,
        port,
        pid: child.pid ?? -1,
        storeDir: opts.storeDir,
        died: exited.then((how) => (stopping || signalled ? new Promise<never>(() => undefined) : how)),
        async stop() {
          stopping = true;
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(t);
        },
      };
    }
    child.kill('SIGKILL');
    await exited;
    // A port race with another process: try another port; anything else is reported.
    if (!/address already in use/i.test(stderr) || opts.port) {
      throw new LooptoolError({ code: 'internal', message: `nats-server did not start: ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'}` });
    }
  }
  throw new LooptoolError({ code: 'internal', message: 'nats-server did not start: no free port after 3 attempts' });
}
