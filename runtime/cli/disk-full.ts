import { statfsSync } from 'node:fs';

// nats-server says "insufficient storage resources available" when JetStream cannot write;
// node and the Python worker say ENOSPC / "No space left on device".
const DISK_FULL = /insufficient storage|ENOSPC|no space left on device/i;

/**
 * What to add to a command's error when it failed because the disk filled: the errors
 * themselves name neither the disk nor what to do, and a long run is where it happens.
 */
export function diskFullHint(message: string, dir: string = process.cwd()): string | null {
  if (!DISK_FULL.test(message)) return null;
  let free = 'an unknown amount';
  try {
    const s = statfsSync(dir);
    free = `${((s.bavail * s.bsize) / 2 ** 30).toFixed(1)} GiB`;
  } catch {
    // the hint still says what to do
  }
  return (
    `the disk is full (${free} free under ${dir}). Checkpoints are the largest files a run writes ` +
    '(runs/<id>/**/checkpoints/ckpt-*: 0.5 GB each for SmolLM2-135M; the reports and `ablate --pool` of a finished run read none of them; ' +
    '`looptool prune runs/<id>` removes those of finished runs that nothing will read again). ' +
    'Free space and run the same command again: a loop run or an ablation continues from its files.'
  );
}
