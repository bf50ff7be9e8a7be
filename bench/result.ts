/** Every benchmark returns its figures; the runner prints them as the last line, one JSON object. */
export type BenchResult = {
  name: string;
  values: Record<string, number | string | boolean | null>;
  target: string;
  pass: boolean;
};

export type Bench = {
  name: string;
  summary: string;
  run(argv: string[]): Promise<BenchResult>;
};

export function defineBench(b: Bench): Bench {
  return b;
}
