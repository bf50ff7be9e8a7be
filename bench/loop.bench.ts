import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyRoleImpl, VerbImpl, RoleContract } from '../protocols/role.ts';
import { parseFlags } from '../runtime/cli/args.ts';
import { LooptoolNode } from '../runtime/bus/node.ts';
import { loopRoles, runIdOf, runLoop } from '../runtime/loop/driver.ts';
import { readConfigFile } from '../runtime/cli/config-file.ts';
import { demoConfig } from '../runtime/loop/preset.ts';
import { defineBench } from './result.ts';

/**
 * One round of the closed loop on the demo preset (sim brains, tiny policy on the CPU):
 * wall time per stage, and the share of the round spent outside model compute. Model
 * compute is the time the trainer agent's two roles (trainer.*, policy.*) spend serving
 * requests, measured around their handlers (the union of busy intervals, so concurrent
 * requests are not counted twice); everything else in the round (the loop machine,
 * stage logic, files, bus hops, the sim roles: judge, expander, validator) is
 * orchestration. Round 0 (seeding, warm-up, baseline) runs first and is not measured.
 */

type Interval = [number, number];

function unionLength(list: Interval[], from: number, to: number): number {
  const clipped = list.map(([a, b]) => [Math.max(a, from), Math.min(b, to)] as Interval).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let cur: Interval | undefined;
  for (const iv of clipped) {
    if (!cur || iv[0] > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [...iv] as Interval;
    } else cur[1] = Math.max(cur[1], iv[1]);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

/** The same role, with every handler's busy time recorded. */
function timed(role: AnyRoleImpl, busy: Interval[]): AnyRoleImpl {
  const verbs: Record<string, VerbImpl<RoleContract, string, unknown>> = {};
  for (const [name, v] of Object.entries(role.verbs as Record<string, VerbImpl<RoleContract, string, unknown>>)) {
    if (!('handle' in v)) {
      verbs[name] = v;
      continue;
    }
    verbs[name] = {
      async handle(input, ctx) {
        const t0 = performance.now();
        try {
          return await v.handle(input, ctx);
        } finally {
          busy.push([t0, performance.now()]);
        }
      },
    };
  }
  return { ...role, verbs } as AnyRoleImpl;
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export default defineBench({
  name: 'loop',
  summary: 'one round of the closed loop on the demo preset: wall time per stage and the share spent outside model compute (target <= 10%)',
  async run(argv) {
    const { values } = parseFlags(argv, { config: { type: 'string' }, keep: { type: 'boolean', default: false } });
    const config = values.config ? readConfigFile(values.config) : demoConfig();
    config.loop.rounds = 1;
    const dir = mkdtempSync(join(tmpdir(), 'looptool-bench-loop-'));
    const busy: Interval[] = [];
    const stages: Record<string, { start: number; end: number }> = {};
    const node = await LooptoolNode.start({ run: runIdOf(dir), runDir: dir, config: config as unknown as Record<string, unknown> });
    try {
      for (const r of await loopRoles(config)) await node.serve(['trainer', 'policy'].includes(r.contract.name) ? timed(r, busy) : r);
      const result = await runLoop({
        dir,
        config,
        node,
        serveRoles: false,
        onStage: (e) => {
          const key = e.round === 0 ? e.stage : `${e.stage}`;
          if (e.round !== 1 && e.round !== 0) return;
          if (e.type === 'start') stages[`${key}@${e.round}`] = { start: performance.now(), end: NaN };
          else stages[`${key}@${e.round}`]!.end = performance.now();
        },
      });
      if (result.status !== 'done') throw new Error(`the loop stopped: ${result.error}`);
      const round = Object.entries(stages).filter(([k]) => k.endsWith('@1'));
      const from = Math.min(...round.map(([, s]) => s.start));
      const to = Math.max(...round.map(([, s]) => s.end));
      const wall = (to - from) / 1000;
      const model = unionLength(busy, from, to) / 1000;
      const values: Record<string, number | string> = { round_s: r1(wall), model_s: r1(model) };
      for (const [k, s] of round) {
        const name = k.slice(0, -2);
        values[`${name}_s`] = r3((s.end - s.start) / 1000);
        values[`${name}_model_s`] = r3(unionLength(busy, s.start, s.end) / 1000);
      }
      for (const [k, s] of Object.entries(stages).filter(([k2]) => k2.endsWith('@0'))) values[`r0_${k.slice(0, -2)}_s`] = r1((s.end - s.start) / 1000);
      const share = wall > 0 ? (wall - model) / wall : 0;
      values.orchestration_share = r3(share);
      const lines = round.map(([k, s]) => `  ${k.slice(0, -2).padEnd(11)} ${((s.end - s.start) / 1000).toFixed(2).padStart(8)} s   model ${(unionLength(busy, s.start, s.end) / 1000).toFixed(2).padStart(8)} s`);
      console.error([`one round (${config.loop.budget} samples, group ${config.loop.train.group_size}):`, ...lines, `  round       ${wall.toFixed(2).padStart(8)} s   model ${model.toFixed(2).padStart(8)} s   outside model ${(100 * share).toFixed(1)}%`].join('\n'));
      return { name: 'loop', values, target: 'orchestration (everything outside model compute) <= 10% of a round', pass: share <= 0.1 };
    } finally {
      await node.stop();
      if (!values.keep) rmSync(dir, { recursive: true, force: true });
      else console.error(`run dir kept: ${dir}`);
    }
  },
});
