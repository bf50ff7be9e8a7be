import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './command.ts';

/** parseArgs with our usage errors instead of Node's exceptions. */
export function parseFlags<const T extends ParseArgsConfig['options']>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function intFlag(value: string | undefined, name: string, fallback: number, min = 0, max?: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const range = max === undefined ? `>= ${min}` : `${min}..${max}`;
  if (!Number.isInteger(n) || n < min || (max !== undefined && n > max)) throw new UsageError(`--${name} expects an integer ${range}, got "${value}"`);
  return n;
}

export function numFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got "${value}"`);
  return n;
}

/** Resolves when the process is asked to stop (Ctrl-C, SIGTERM). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
