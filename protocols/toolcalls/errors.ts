/** A parse failure at a character offset; thrown inside scanners, caught at every public entry. */
export class ParseFail extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
    this.name = 'ParseFail';
  }
}

export type ParseErrorInfo = { message: string; pos: number };

/** Any thrown value as {message, pos}; a stack overflow on absurd nesting is a parse error too. */
export function toParseError(err: unknown, fallbackPos = 0): ParseErrorInfo {
  if (err instanceof ParseFail) return { message: err.message, pos: err.pos };
  if (err instanceof RangeError) return { message: `input nested too deeply (${err.message})`, pos: fallbackPos };
  return { message: err instanceof Error ? err.message : String(err), pos: fallbackPos };
}
