/**
 * A CLI command lives in runtime/cli/commands/<name>.ts and default-exports one of these;
 * the dispatcher finds it by file name, so adding a command edits no other file.
 */
export type Command = {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code (0 ok, 1 failure, 2 usage error). */
  run(argv: string[]): Promise<number>;
};

export function defineCommand(c: Command): Command {
  return c;
}

/** Exit codes with a meaning, shared by every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3, interrupted: 130 } as const;

/** Thrown for bad flags: the dispatcher prints the message and the command's usage. */
export class UsageError extends Error {}
