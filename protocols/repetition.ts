/**
 * Whether an answer ends in a repetition loop: its last characters repeat one span of at
 * most 64 characters, at least three times and over at least 48 characters (a made-up id
 * such as `PARAMETER_PARAMETER_…`, or the same call again and again). Such an answer is
 * wrong at any length, so it says nothing about whether max_new_tokens is long enough;
 * evaluation and GRPO rollouts count these apart from other answers cut off.
 */
export function endsInLoop(text: string): boolean {
  const n = text.length;
  for (let p = 1; p <= 64 && 3 * p <= n; p++) {
    let run = 0;
    while (run < n - p && text[n - 1 - run] === text[n - 1 - run - p]) run++;
    // `run` characters equal the ones a period before them: the tail spans run + p
    if (run + p >= Math.max(48, 3 * p)) return true;
  }
  return false;
}
