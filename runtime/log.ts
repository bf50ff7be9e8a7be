import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pino, type Logger as PinoLogger } from 'pino';
import type PinoPretty from 'pino-pretty';

/** Fields that may hold secrets; pino replaces them wherever they appear. */
export const REDACT_PATHS = [
  'apiKey', '*.apiKey', '*.*.apiKey',
  'password', '*.password', 'pass', '*.pass',
  'token', '*.token', 'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'creds', '*.creds',
];

/** The log file of a process that works in a run directory. */
export const RUN_LOG = 'looptool.log';

let root: PinoLogger | undefined;
let runLog: string | undefined;

/**
 * Sends this process's logs to `<runDir>/looptool.log` (JSON lines), so that a command's
 * own output on the terminal stays human: progress, summaries and errors on stdout and
 * stderr, logs in the file. The first run directory of a process wins; a call after the
 * first log line changes nothing. `LOOPTOOL_LOG_FILE` names another file;
 * `LOOPTOOL_LOG=stderr` keeps logs on stderr (pretty on a terminal, else JSON).
 */
export function logToRunDir(runDir: string): void {
  runLog ??= join(runDir, RUN_LOG);
}

/** The process-wide logger, at the destination `logToRunDir` describes (stderr when there is no run directory). */
export function logger(): PinoLogger {
  if (root) return root;
  const level = process.env.LOOPTOOL_LOG_LEVEL ?? (process.env.CI ? 'warn' : 'info');
  const opts = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } };
  const toStderr = process.env.LOOPTOOL_LOG === 'stderr' || !!process.env.LOOPTOOL_LOG_JSON;
  const file = process.env.LOOPTOOL_LOG_FILE || (toStderr ? undefined : runLog);
  if (file) {
    root = pino(opts, pino.destination({ dest: file, sync: true, mkdir: true, append: true }));
  } else if (process.stderr.isTTY && !process.env.LOOPTOOL_LOG_JSON) {
    // loaded here, on a terminal only: every other process would load its 30 modules for nothing
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    root = pino(opts, pretty({ colorize: true, destination: 2, sync: true, ignore: 'pid,hostname' }));
  } else {
    root = pino(opts, pino.destination({ dest: 2, sync: true }));
  }
  return root;
}

export function childLogger(bindings: Record<string, unknown>): PinoLogger {
  return logger().child(bindings);
}
