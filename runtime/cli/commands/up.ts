import { readConfigFile } from '../config-file.ts';
import { defineCommand, EXIT } from '../command.ts';
import { intFlag, parseFlags, untilSignal } from '../args.ts';
import { LooptoolNode } from '../../bus/node.ts';
import { builtinRoles, loadRoleModules } from '../../roles.ts';
import { newRunId, runDir } from '../../rundir.ts';
import { busConfigFromEnv } from '../../bus/connect.ts';
import { bold, dim } from '../../terminal.ts';
import { resolveModelSpec } from '../../../agents/trainer/presets.ts';
import { isLooptoolError } from '../../../protocols/errors.ts';
import type { RolePhase } from '../../../agents/registry.ts';

export default defineCommand({
  name: 'up',
  summary: 'start the bus (embedded nats-server unless NATS_URL is set) and serve the seeding roles, the trainer and policy (they load trainer.model), and --module roles until Ctrl-C',
  usage: 'up [--run ID] [--namespace NAME] [--nats URL] [--config FILE] [--module FILE]... [--replicas N]',
  async run(argv) {
    const { values } = parseFlags(argv, {
      run: { type: 'string' },
      nats: { type: 'string' },
      module: { type: 'string', multiple: true },
      config: { type: 'string' },
      replicas: { type: 'string' },
    });
    const config = readConfigFile(values.config);
    const run = values.run ?? newRunId('up');
    const dir = runDir(run);
    const node = await LooptoolNode.start({ run, runDir: dir, bus: busConfigFromEnv({ url: values.nats }), config });
    // a pool for seed runs plus the policy; a loop run serves its own loop roles
    const policy = policyUnbuilt(config.trainer.model);
    const phases: RolePhase[] = policy ? ['seed'] : ['seed', 'train'];
    const roles = [...(await builtinRoles(...phases)), ...(await loadRoleModules([...config.roles, ...(values.module ?? [])]))];
    const replicas = intFlag(values.replicas, 'replicas', 1, 1);
    for (const r of roles) await node.serve(r, { replicas });
    console.log(`${bold('looptool up')}: bus ${node.url} (${node.embedded ? 'embedded nats-server' : 'cluster'}), run ${run}, namespace ${node.namespace}`);
    if (node.namespace !== run)
      console.log(`runs use these workers with --namespace ${node.namespace} (or LOOPTOOL_NAMESPACE=${node.namespace}) and --nats ${node.url}`);
    console.log(`serving ${roles.length} role(s): ${roles.map((r) => r.contract.name).join(', ') || '(none registered)'}; Ctrl-C to stop`);
    if (policy) console.log(dim(`not serving trainer, policy: ${policy}`));
    const sig = await untilSignal();
    console.log(`\n${sig}: stopping...`);
    await node.stop();
    return EXIT.ok;
  },
});

/**
 * Why the trainer and policy cannot start here, when it is that their model preset is not
 * built: `up` then serves the other roles (a role of one's own, the seeding pool) instead of
 * refusing them all, and building the base (40 minutes for nano) stays an explicit step.
 */
function policyUnbuilt(model: Parameters<typeof resolveModelSpec>[0]): string | undefined {
  try {
    resolveModelSpec(model);
    return undefined;
  } catch (err) {
    if (isLooptoolError(err, 'invalid_input')) return err.message;
    throw err;
  }
}
