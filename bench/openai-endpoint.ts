import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Starts the OpenAI-protocol test server (test/helpers/openai-server-main.ts) in its own
 * process, answering every request after `latencyMs` (with `content`, when given);
 * resolves with its base URL once it listens.
 */
export async function spawnOpenAIServer(latencyMs: number, content?: string): Promise<{ url: string; child: ChildProcess }> {
  const args = ['--import', 'tsx', join(root, 'test/helpers/openai-server-main.ts'), '--latency-ms', String(latencyMs), ...(content === undefined ? [] : ['--content', content])];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += String(d);
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl).trim());
    });
    child.once('exit', (code) => reject(new Error(`test server exited early (code ${code})`)));
    child.once('error', reject);
  });
  return { url, child };
}
