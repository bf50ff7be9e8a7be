import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { presetDir } from '../../../agents/trainer/index.ts';
import { ModelPreset } from '../../../protocols/trainer.ts';
import { currentNano, ensureNano, type NanoBuildInfo } from '../../models/nano.ts';
import { buildProgress } from '../../models/ensure.ts';
import { parseFlags } from '../args.ts';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { bold, dim } from '../../terminal.ts';

function describe(preset: ModelPreset): Record<string, unknown> {
  const dir = presetDir(preset);
  const built = existsSync(join(dir, 'config.json'));
  const out: Record<string, unknown> = { preset, dir, built };
  if (preset === 'nano' && built) {
    const cur = currentNano(dir);
    out.current = cur !== null;
    if (!cur && existsSync(join(dir, 'looptool-model.json'))) out.note = 'built from older inputs: `model init nano` builds it again';
    if (cur) Object.assign(out, { samples: cur.samples, params: cur.params, vocab_size: cur.vocab_size, seconds: Math.round(cur.seconds), heldout: cur.heldout?.at(-1) });
  }
  return out;
}

/** The built base's last held-out probe, in words. */
function heldoutLine(info: NanoBuildInfo): string {
  const h = info.heldout?.at(-1);
  if (!h) return '';
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  return `; held-out (${h.samples} samples): exact calls ${pct(h.call_exact)} of ${h.call_samples}, ToolMatch ${pct(h.toolmatch)} (never calling: ${pct(h.never_call)})`;
}

export default defineCommand({
  name: 'model',
  summary: 'the policy presets in the model cache: list them, or build one (nano: simulate + pretrain; smollm2: convert from PyPI)',
  usage: 'model list [--json] | model init nano|smollm2 [--force] [--threads N] [--json]',
  async run(argv) {
    const [verb, ...rest] = argv;
    const { values, positionals } = parseFlags(rest, { force: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, threads: { type: 'string' } }, true);
    if (verb === 'list') {
      const rows = ModelPreset.options.map(describe);
      if (values.json) console.log(JSON.stringify(rows));
      else for (const r of rows) console.log(`${bold(String(r.preset).padEnd(8))} ${r.built ? 'built' : dim('not built')}  ${dim(String(r.dir))}${r.note ? `  ${r.note}` : ''}`);
      return EXIT.ok;
    }
    if (verb !== 'init') throw new UsageError(verb ? `unknown "model" verb "${verb}" (list, init)` : 'model needs a verb: list or init');
    const name = ModelPreset.safeParse(positionals[0]);
    if (!name.success) throw new UsageError(`model init needs a preset: ${ModelPreset.options.join(' or ')}`);
    if (name.data === 'smollm2') {
      // The set-up script owns the download and conversion (it runs before torch exists).
      const setup = fileURLToPath(new URL('../../../scripts/setup.sh', import.meta.url));
      if (values.force) process.env.LOOPTOOL_FORCE_SMOLLM2 = '1';
      const r = spawnSync('bash', [setup], { stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
      if (r.status !== 0) return EXIT.failed;
      if (values.json) console.log(JSON.stringify(describe('smollm2')));
      else console.log(`smollm2 ready in ${presetDir('smollm2')}`);
      return EXIT.ok;
    }
    const threads = values.threads ? Number(values.threads) : undefined;
    if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) throw new UsageError(`--threads must be a positive integer, got "${values.threads}"`);
    const progress = values.json ? undefined : buildProgress();
    const info = await ensureNano({ force: values.force, threads, onProgress: progress });
    progress?.end();
    if (values.json) console.log(JSON.stringify(info));
    else
      console.log(
        `nano ready in ${presetDir('nano')}: ${info.params.toLocaleString()} parameters, vocabulary ${info.vocab_size}, ` +
          `${info.samples} pretraining samples (${info.tokens_per_sample.mean.toFixed(0)} tokens each on average), loss ${info.loss.first.toFixed(3)} → ${info.loss.last.toFixed(3)}, ${info.seconds.toFixed(0)} s` +
          heldoutLine(info),
      );
    return EXIT.ok;
  },
});
