import { pino, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';

/** Fields that may hold secrets; pino replaces them wherever they appear. */
export const REDACT_PATHS = [
  'apiKey', '*.apiKey', '*.*.apiKey',
  'password', '*.password', 'pass', '*.pass',
  'token', '*.token', 'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'creds', '*.creds',
];

let root: PinoLogger | undefined;

/** The process-wide logger: pretty on a terminal, JSON lines otherwise (on stderr, so stdout stays for output). */
export function logger(): PinoLogger {
  if (root) return root;
  const level = process.env.LOOPTOOL_LOG_LEVEL ?? (process.env.CI ? 'warn' : 'info');
  const opts = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } };
  const tty = process.stderr.isTTY && !process.env.LOOPTOOL_LOG_JSON;
  root = tty
    ? pino(opts, pretty({ colorize: true, destination: 2, sync: true, ignore: 'pid,hostname' }))
    : pino(opts, pino.destination({ dest: 2, sync: true }));
  return root;
}

export function childLogger(bindings: Record<string, unknown>): PinoLogger {
  return logger().child(bindings);
}
