import { readFileSync } from 'node:fs';

/**
 * Whether a process with this pid is running (signal 0 checks without touching it). A
 * zombie is not: a process that died but was never reaped, which is what a dead run's
 * process stays as under a container whose first process reaps nothing.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it runs, as another user
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** From /proc where there is one (Linux): the state letter follows the command's closing parenthesis. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^\s*[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 1));
  } catch {
    return false;
  }
}
