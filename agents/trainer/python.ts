import { spawn } from 'node:child_process';

/** A Python interpreter that can import torch. */
export type PythonInfo = { path: string; python: string; torch: string; cuda: boolean };

export const INSTALL_HINT =
  'install Debian\'s PyTorch with `apt-get install python3-torch libopenblas0-pthread` (it lives under /usr/bin/python3), ' +
  'or set LOOPTOOL_PYTHON to an interpreter that can `import torch`';

const PROBE = 'import json, sys, torch; print(json.dumps({"python": sys.version.split()[0], "torch": torch.__version__, "cuda": torch.cuda.is_available()}))';

/** Where we look, in order: LOOPTOOL_PYTHON, then the usual names. */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): { path: string; fromEnv: boolean }[] {
  const out: { path: string; fromEnv: boolean }[] = [];
  if (env.LOOPTOOL_PYTHON) out.push({ path: env.LOOPTOOL_PYTHON, fromEnv: true });
  // Debian's python3-torch is installed for /usr/bin/python3, which is often not the
  // python3 first on PATH (pyenv, venvs), so it is tried before the PATH names.
  for (const p of ['/usr/bin/python3', 'python3', 'python']) out.push({ path: p, fromEnv: false });
  return out;
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
          const j = JSON.parse(out.trim().split('\n').pop() ?? '') as { python: string; torch: string; cuda: boolean };
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
    if (c.fromEnv) throw new Error(`LOOPTOOL_PYTHON=${c.path} cannot import torch (${r.why}); ${INSTALL_HINT}`);
    tried.push(`${c.path}: ${r.why}`);
  }
  throw new Error(`no Python interpreter that can import torch was found (tried ${tried.join('; ')}); ${INSTALL_HINT}`);
}
