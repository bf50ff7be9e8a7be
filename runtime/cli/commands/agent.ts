import { readConfigFile } from '../config-file.ts';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { intFlag, parseFlags, untilSignal } from '../args.ts';
import { LooptoolNode } from '../../bus/node.ts';
import { builtinRoles, loadRoleModules } from '../../roles.ts';
import { runDir } from '../../rundir.ts';
import { busConfigFromEnv } from '../../bus/connect.ts';
import { liveRuns, publicUrl } from '../../live-runs.ts';

export default defineCommand({
  name: 'agent',
  summary: 'serve some roles on an existing bus (--nats URL, NATS_URL, or the local `looptool up`)',
  usage: 'agent <role...> [--nats URL] [--namespace NAME] [--replicas N] [--concurrency N] [--config FILE] [--module FILE]... [--run ID]',
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      {
        nats: { type: 'string' },
        replicas: { type: 'string' },
        concurrency: { type: 'string' },
        module: { type: 'string', multiple: true },
        config: { type: 'string' },
        run: { type: 'string' },
      },
      true,
    );
    if (positionals.length === 0) throw new UsageError('name at least one role');
    const config = readConfigFile(values.config);
    const known = [...(await builtinRoles()), ...(await loadRoleModules([...config.roles, ...(values.module ?? [])]))];
    const byName = new Map(known.map((r) => [r.contract.name, r]));
    const missing = positionals.filter((p) => !byName.has(p));
    if (missing.length) throw new UsageError(`unknown role(s) ${missing.join(', ')}; known: ${[...byName.keys()].join(', ') || 'none'}`);
    // the newest live run on this machine (`looptool up`), unless a bus is named
    const live = liveRuns()[0];
    const url = values.nats ?? process.env.NATS_URL ?? live?.url;
    if (!url) throw new UsageError('no bus to join: pass --nats URL, set NATS_URL, or start `looptool up` first');
    const run = values.run ?? live?.run ?? 'default';
    // the namespace of `up` it joins, unless --namespace (or LOOPTOOL_NAMESPACE) names one
    const namespace = process.env.LOOPTOOL_NAMESPACE || (values.run ? undefined : live?.namespace);
    const node = await LooptoolNode.start({ run, namespace, runDir: runDir(run), bus: busConfigFromEnv({ url }), config, announce: false });
    const replicas = intFlag(values.replicas, 'replicas', 1, 1);
    const concurrency = values.concurrency ? intFlag(values.concurrency, 'concurrency', 1, 1) : undefined;
    for (const name of positionals) await node.serve(byName.get(name)!, { replicas, concurrency });
    console.log(`serving ${positionals.join(', ')} x${replicas} on ${publicUrl(url)}, namespace ${node.namespace}; Ctrl-C to stop`);
    await untilSignal();
    await node.stop();
    return EXIT.ok;
  },
});
