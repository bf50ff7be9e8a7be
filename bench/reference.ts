import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findPython } from '../agents/trainer/python.ts';

const SCRIPT = fileURLToPath(new URL('../agents/trainer/worker/bench_reference.py', import.meta.url));
const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * The plain-transformers side of a benchmark: agents/trainer/worker/bench_reference.py
 * does the job's sections (sft, grpo, gen, answer) the library's way and prints one JSON
 * line of figures.
 */
export async function runReference<T>(job: { path: string; threads: number } & Record<string, unknown>): Promise<T> {
  const py = await findPython();
  return new Promise((resolve, reject) => {
    const child = spawn(py.path, [SCRIPT], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bench_reference.py exited ${code}: ${err.slice(-800)}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
    });
    child.stdin.end(JSON.stringify(job));
  });
}
