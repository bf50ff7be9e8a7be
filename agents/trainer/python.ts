import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setupVenv } from './presets.ts';

/** A Python interpreter that can import the policy worker's stack. */
export type PythonInfo = { path: string; python: string; torch: string; cuda: boolean | null };

export const INSTALL_HINT =
  'run `npm run setup` (scripts/setup.sh installs the pinned stack of agents/trainer/worker/requirements.txt into one environment per machine), ' +
  'or set LOOPTOOL_PYTHON to an interpreter that has it';

/** The packages the worker imports; a missing one is named in the error. */
const STACK = ['torch', 'transformers', 'tokenizers', 'safetensors', 'peft'];
// Finding the packages is enough here (importing torch and transformers takes tens of
// seconds); the worker reports a broken install itself, naming the package.
const PROBE = [
  'import importlib.metadata as md, importlib.util, json, sys',
  `for m in ${JSON.stringify(STACK)}:`,
  '    if importlib.util.find_spec(m) is None: sys.exit(f"the Python package {m} is not installed")',
  'print(json.dumps({"python": sys.version.split()[0], "torch": md.version("torch"), "cuda": None}))',
].join('\n');

/** Where we look, in order: LOOPTOOL_PYTHON, then the set-up's environment. */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): { path: string; fromEnv: boolean }[] {
  if (env.LOOPTOOL_PYTHON) return [{ path: env.LOOPTOOL_PYTHON, fromEnv: true }];
  return [{ path: join(setupVenv(env), 'bin', 'python'), fromEnv: false }];
}

function probe(path: string, timeoutMs: number): Promise<{ ok: true; info: PythonInfo } | { ok: false; why: string }> {
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let settled = false;
    const done = (r: { ok: true; info: PythonInfo } | { ok: false; why: string }) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(r);
      }
    };
    const child = spawn(path, ['-c', PROBE], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ ok: false, why: `no answer in ${timeoutMs} ms` });
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, why: e.code === 'ENOENT' ? 'not found' : e.message }));
    child.on('close', (code) => {
      if (code === 0) {
        try {
          const j = JSON.parse(out.trim().split('\n').pop() ?? '') as { python: string; torch: string; cuda: boolean | null };
          return done({ ok: true, info: { path, python: j.python, torch: j.torch, cuda: j.cuda } });
        } catch {
          return done({ ok: false, why: `unexpected output: ${out.slice(0, 200)}` });
        }
      }
      const last = err.trim().split('\n').pop() ?? '';
      done({ ok: false, why: last || `exit code ${code}` });
    });
  });
}

const cache = new Map<string, Promise<PythonInfo>>();

/**
 * Finds the interpreter for the policy worker: LOOPTOOL_PYTHON if set (and then only it:
 * an explicit choice that fails is an error, not a reason to pick something else), else
 * the first candidate that can import torch. The answer is cached per process.
 */
export function findPython(env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<PythonInfo> {
  const key = env.LOOPTOOL_PYTHON ?? '';
  let p = cache.get(key);
  if (!p) {
    p = search(env, timeoutMs);
    cache.set(key, p);
    p.catch(() => cache.delete(key)); // a failure is not remembered: the user may install torch and retry
  }
  return p;
}

async function search(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<PythonInfo> {
  const tried: string[] = [];
  for (const c of pythonCandidates(env)) {
    const r = await probe(c.path, timeoutMs);
    if (r.ok) return r.info;
    if (c.fromEnv) throw new Error(`LOOPTOOL_PYTHON=${c.path} cannot serve the policy worker: ${r.why}; ${INSTALL_HINT}`);
    tried.push(`${c.path}: ${r.why}`);
  }
  throw new Error(`no Python interpreter for the policy worker (tried ${tried.join('; ')}); ${INSTALL_HINT}`);
}
