import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, relative, resolve } from 'node:path';
import { readConfigFile } from '../config-file.ts';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { intFlag, parseFlags } from '../args.ts';
import { bold, dim, Progress } from '../../terminal.ts';
import { RunConfig } from '../../../protocols/config.ts';
import { ApiDesignerContract } from '../../../protocols/roles/api-designer.ts';
import type { ToolSpec } from '../../../protocols/toolspec.ts';
import { LooptoolError } from '../../../protocols/errors.ts';
import { runIdForDir } from '../../live-runs.ts';
import { LooptoolNode } from '../../bus/node.ts';
import { newRunId, runsRoot } from '../../rundir.ts';
import { busConfigFromEnv } from '../../bus/connect.ts';
import { builtinRoles, loadRoleModules } from '../../roles.ts';
import { runSeed, seedFiles, serveSeedRoles, settleRunConfig, type SeedSummary } from '../../seed.ts';
import { interruptOnSignals } from '../interrupt.ts';


function table(title: string, counts: Record<string, number>): string[] {
  const rows = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (!rows.length) return [];
  const w = Math.max(...rows.map(([k]) => k.length));
  return [title, ...rows.map(([k, n]) => `  ${k.padEnd(w)}  ${String(n).padStart(6)}`)];
}

function report(s: SeedSummary, out: string): string {
  const rate = s.finished ? ((100 * s.accepted) / s.finished).toFixed(1) : '0.0';
  return [
    `${bold('seed')}: ${s.finished}/${s.dialogues} dialogues finished (${s.ranNow} now, ${s.seconds.toFixed(1)} s)${s.complete ? '' : ' — incomplete: run the same command again to continue'}`,
    `accepted ${s.accepted} (${rate}%), rejected ${s.rejected}`,
    ...(s.unavailable ? [`not attempted ${s.notAttempted} (${s.dialogues - s.finished} left for the next run): ${s.unavailable}`] : []),
    ...table('rejected by reason:', s.rejectedBy),
    `samples ${s.samples} (masked ${s.masked}, noisy labels ${s.noisy} by sim truth), bad turns retried ${s.badTurns}`,
    ...table('samples by kind:', s.samplesBy),
    dim(`corpus in ${out}`),
  ].join('\n');
}

/** "0.function.parameters.properties.when.type" → "when" (nested: "filter.from", array items: "dates[]"). */
function parameterOf(path: string): string {
  const rest = path.replace(/^.*?\.parameters\.?/, '').replace(/\.?type$/, '');
  return rest.replace(/\.items(?=\.|$)/g, '[]').split('.').filter((p) => p !== 'properties' && p !== '').join('.') || '(parameters)';
}

/**
 * Real tool specs (OpenAI `tools` JSON or BFCL function docs) instead of synthesized
 * ones: converted by the API designer over the bus, then cut into sets of
 * `seeding.tools` (default sim.designer.toolsPerSet); dialogue i uses set i mod n.
 */
async function importPool(node: LooptoolNode, file: string, config: RunConfig): Promise<ToolSpec[][]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--tools ${file}: ${(err as Error).message}`);
  }
  const out = await node.call(ApiDesignerContract, 'import', { format: 'auto', source: text, origin: basename(file) });
  // A spec whose types were replaced is not the spec the user gave: refuse it rather than simulate another one.
  const lossy = out.issues.filter((i) => i.unrepresentable);
  if (lossy.length)
    throw new UsageError(`--tools ${file}: ${lossy.map((i) => `tool "${i.tool ?? '?'}", parameter "${parameterOf(i.path)}": ${i.message}`).join('; ')}`);
  if (out.tools.length === 0)
    throw new UsageError(`--tools ${file}: no usable tool spec${out.issues.length ? `: ${out.issues.slice(0, 3).map((i) => `${i.path}: ${i.message}`).join('; ')}` : ''}`);
  if (out.issues.length) console.error(dim(`--tools ${file}: ${out.issues.length} issue(s), first: ${out.issues[0]!.path}: ${out.issues[0]!.message}`));
  const size = config.seeding.tools ?? config.sim.designer.toolsPerSet;
  const sets: ToolSpec[][] = [];
  for (let i = 0; i < out.tools.length; i += size) sets.push(out.tools.slice(i, i + size));
  return sets;
}

export default defineCommand({
  name: 'seed',
  summary: 'round 0: synthesize tools and simulate N multi-agent dialogues over the bus; validated samples in runs/<id>/round-0/',
  usage:
    'seed --dialogues N [--concurrency C] [--config FILE] [--seed S] [--out runs/<id>] [--tools FILE] [--external-roles] [--module FILE]... [--role-concurrency N] [--nats URL] [--no-trace] [--json]',
  async run(argv) {
    const { values } = parseFlags(argv, {
      dialogues: { type: 'string' },
      concurrency: { type: 'string' },
      config: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'external-roles': { type: 'boolean', default: false },
      module: { type: 'string', multiple: true },
      'role-concurrency': { type: 'string' },
      tools: { type: 'string' },
      nats: { type: 'string' },
      'no-trace': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    if (values.dialogues === undefined) throw new UsageError('--dialogues N is required');
    const dialogues = intFlag(values.dialogues, 'dialogues', 0, 1);
    const concurrency = intFlag(values.concurrency, 'concurrency', 8, 1);
    const roleConcurrency = values['role-concurrency'] ? intFlag(values['role-concurrency'], 'role-concurrency', 1, 1) : undefined;
    const outDir = resolve(values.out ?? `${runsRoot()}/${newRunId('seed')}`);
    // The run id is one NATS subject token, made from the directory as every command makes it.
    const run = runIdForDir(outDir);

    let given: RunConfig | undefined = values.config ? readConfigFile(values.config) : undefined;
    if (values.seed !== undefined) given = { ...(given ?? RunConfig.parse({})), seed: values.seed };
    if (given && !given.seed) throw new UsageError('--seed must not be empty');
    if (values.tools !== undefined && !existsSync(values.tools)) throw new UsageError(`--tools ${values.tools}: no such file`);
    // only now: a usage error above leaves no empty run directory behind
    mkdirSync(outDir, { recursive: true });
    let config: RunConfig;
    try {
      config = settleRunConfig(outDir, given);
    } catch (err) {
      if (err instanceof LooptoolError) throw new UsageError(err.message);
      throw err;
    }

    const node = await LooptoolNode.start({ run, runDir: outDir, bus: busConfigFromEnv({ url: values.nats }), config: config as unknown as Record<string, unknown> });
    const interrupt = interruptOnSignals();
    const bar = values.json ? undefined : new Progress('dialogues', dialogues);
    try {
      if (!values['external-roles']) {
        const extra = await loadRoleModules([...config.roles, ...(values.module ?? [])]);
        await serveSeedRoles(node, [...(await builtinRoles('seed')), ...extra], { concurrency: roleConcurrency });
      }
      const toolPool = values.tools ? await importPool(node, values.tools, config) : undefined;
      if (!values.json) console.error(dim(`bus ${node.url ?? '(cluster)'}${node.embedded ? ' (embedded nats-server)' : ''}, run ${run}, seed "${config.seed}"`));
      const summary = await runSeed({
        node,
        runDir: outDir,
        config,
        dialogues,
        concurrency,
        toolPool,
        signal: interrupt.signal,
        trace: !values['no-trace'],
        onProgress: (p) => bar?.set(p.finished, `accepted ${p.accepted} rejected ${p.rejected}`),
      });
      bar?.end();
      const out = relative(process.cwd(), seedFiles(outDir).dir) || '.';
      if (values.json) console.log(JSON.stringify({ run, out: seedFiles(outDir).dir, ...summary }));
      else console.log(report(summary, out));
      if (interrupt.interrupted) return EXIT.interrupted;
      // an outage is not a result: say so with its own exit code
      if (summary.unavailable) return EXIT.unavailable;
      return summary.complete ? EXIT.ok : EXIT.failed;
    } finally {
      interrupt.dispose();
      await node.stop(interrupt.interrupted ? { graceMs: 0 } : {});
    }
  },
});
