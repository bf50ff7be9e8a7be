import { basename } from 'node:path';
import { resolveModelSpec, WorkerProcess } from '../../../agents/trainer/index.ts';
import { ensureModel } from '../../models/ensure.ts';
import { policyFromArg } from '../../models/model-arg.ts';
import { startServeServer } from '../../serve/server.ts';
import { intFlag, parseFlags } from '../args.ts';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { interruptOnSignals } from '../interrupt.ts';
import { bold, dim } from '../../terminal.ts';

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1)$/;

export default defineCommand({
  name: 'serve',
  summary: 'serve the local policy (a preset, a model or checkpoint directory, or a loop run\'s last policy) as an OpenAI-compatible endpoint, batching concurrent requests',
  usage:
    'serve --model <nano|smollm2|DIR|RUN> [--round N] [--port 8000] [--host 127.0.0.1] [--max-batch 16] [--max-tokens 512] [--threads N]   (port 0 = any free port; /v1/models, /v1/chat/completions, /v1/stats)',
  async run(argv) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'max-batch': { type: 'string' },
      'max-tokens': { type: 'string' },
      threads: { type: 'string' },
      round: { type: 'string' },
    });
    if (!values.model) throw new UsageError('serve needs --model: a preset (nano, smollm2), a model or checkpoint directory, or a loop run');
    const port = intFlag(values.port, 'port', 8000, 0);
    if (port > 65535) throw new UsageError('--port expects 0..65535');
    const maxBatch = intFlag(values['max-batch'], 'max-batch', 16, 1);
    const maxTokens = intFlag(values['max-tokens'], 'max-tokens', 512, 1);
    const threads = values.threads === undefined ? undefined : intFlag(values.threads, 'threads', 0, 1);
    // The endpoint has no key: anyone who can reach the port uses the model.
    if (values.host && !LOOPBACK.test(values.host)) console.error(bold(`warning: --host ${values.host} lets anyone who can reach this port use the model; there is no API key`));

    const round = values.round === undefined ? undefined : intFlag(values.round, 'round', 0);
    let picked;
    try {
      picked = policyFromArg(values.model, { round });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { spec, from } = picked;
    if (from) console.error(dim(from));
    await ensureModel(spec);
    const interrupt = interruptOnSignals();
    const worker = await WorkerProcess.start({ threads });
    try {
      const info = await worker.loadPolicy(resolveModelSpec(spec), { threads });
      const id = spec.preset ?? basename(spec.path!);
      const server = await startServeServer({
        generate: (args) => worker.generate(args),
        model: id,
        host: values.host,
        port,
        maxBatch,
        defaultMaxTokens: maxTokens,
      }).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`port ${port} is taken; pass --port N (0 picks a free one)`);
        throw err;
      });
      console.log(
        `${bold('looptool serve')}: ${server.url}  ${dim(`(model ${id}: ${info.model.params.toLocaleString()} parameters on ${info.device}, ${info.threads} threads; batches of up to ${maxBatch}; Ctrl-C to stop)`)}`,
      );
      if (!interrupt.interrupted) await new Promise((resolve) => interrupt.signal.addEventListener('abort', resolve, { once: true }));
      console.log('\nstopping the server');
      await server.close();
      return EXIT.ok;
    } finally {
      interrupt.dispose();
      await worker.close();
    }
  },
});
