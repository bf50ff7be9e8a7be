import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  AST_CATEGORIES,
  type BfclEntry,
  type CheckMode,
  checkEntry,
  referenceCalls,
  referenceResult,
} from '../protocols/bfcl/index.ts';
import { exactToToolCall, formatHermes, parseJsonExact, rewardFromText, type PyVal } from '../protocols/toolcalls/index.ts';
import { pyJsonText } from '../protocols/bfcl/reference.ts';
import type { Label } from '../protocols/sample.ts';
import { bfclDataDir, loadBfclCategory } from '../runtime/bfcl/files.ts';
import { defineBench } from './result.ts';

/**
 * Parse + check throughput of the BFCL checker over the reference answers of every AST
 * category (2,351 entries), on one core, in the same run for:
 *  - prompting mode: the answer is Python-call text, decoded by our Python parser;
 *  - FC mode: the answer is `[{name: "<json arguments>"}]`, decoded by the exact JSON reader;
 *  - the ToolMatch reward: the same answers as Hermes text, parsed and matched.
 * Each item starts from the raw result-line text, so JSON reading of the line is included.
 * The reference is the official Python checker at about 5,000 checks/s on this machine
 * (start-up included); the target is 60,000 checks/s in prompting mode.
 */

const PYTHON_BASELINE_PER_S = 5000;
const TARGET_PER_S = 60000;

type Item = { entry: BfclEntry; line: string };

type Rate = { wall: number; cpu: number };

/**
 * Runs whole passes for `seconds` after a warm-up pass. Returns items per second of wall
 * time and per second of this process's CPU time: on a machine shared with other work the
 * CPU-time figure is the one that measures "one core" (it ignores time spent waiting for it).
 */
function timeLoop(seconds: number, body: () => number): Rate {
  body();
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < until) {
    n += body();
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: n / (Number(now - start) / 1e9), cpu: n / ((cpu.user + cpu.system) / 1e6) };
}

export default defineBench({
  name: 'toolmatch',
  summary: 'BFCL checker parse+check throughput over the reference answers (prompt, fc) and ToolMatch rewards',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { seconds: { type: 'string', default: '3' }, data: { type: 'string' } },
      strict: true,
    });
    const seconds = Number(values.seconds);
    const dir = bfclDataDir(values.data);
    const entries: BfclEntry[] = [];
    for (const cat of AST_CATEGORIES) {
      const ds = loadBfclCategory(dir, cat);
      for (const id of ds.order) entries.push(ds.entries.get(id)!);
    }
    const items = (mode: CheckMode): Item[] =>
      entries.map((entry) => ({ entry, line: `{"id": ${JSON.stringify(entry.id)}, "result": ${pyJsonText(referenceResult(entry, mode))}}` }));
    const promptItems = items('prompt');
    const fcItems = items('fc');

    const pass = (list: Item[], mode: CheckMode) => () => {
      let valid = 0;
      for (const it of list) {
        const line = parseJsonExact(it.line, { allowNonFinite: true });
        const result = (line as { get(k: string): PyVal | undefined }).get('result');
        if (checkEntry(it.entry, result, mode).valid) valid++;
      }
      if (valid < list.length - 4) throw new Error(`only ${valid}/${list.length} reference answers passed`);
      return list.length;
    };

    // ToolMatch: the reference calls as Hermes text against labels holding the same calls.
    const rewardItems: { text: string; label: Label }[] = [];
    for (const e of entries) {
      try {
        const calls = referenceCalls(e).map((c) => exactToToolCall(c));
        if (calls.length) rewardItems.push({ text: formatHermes(calls), label: { type: 'calls', calls } });
      } catch {
        // a reference value JSON cannot carry (none in the data today)
      }
    }
    const rewardPass = () => {
      let ok = 0;
      for (const it of rewardItems) ok += rewardFromText(it.text, it.label).reward;
      if (ok !== rewardItems.length) throw new Error(`ToolMatch rewarded ${ok}/${rewardItems.length} reference answers`);
      return rewardItems.length;
    };

    const promptRate = timeLoop(seconds, pass(promptItems, 'prompt'));
    const fcRate = timeLoop(seconds, pass(fcItems, 'fc'));
    const rewardRate = timeLoop(seconds, rewardPass);
    const round = (x: number) => Math.round(x);
    return {
      name: 'toolmatch',
      values: {
        entries: entries.length,
        prompt_checks_per_cpu_s: round(promptRate.cpu),
        fc_checks_per_cpu_s: round(fcRate.cpu),
        toolmatch_rewards_per_cpu_s: round(rewardRate.cpu),
        prompt_checks_per_wall_s: round(promptRate.wall),
        fc_checks_per_wall_s: round(fcRate.wall),
        toolmatch_rewards_per_wall_s: round(rewardRate.wall),
        python_baseline_per_s: PYTHON_BASELINE_PER_S,
        prompt_vs_python: Number((promptRate.cpu / PYTHON_BASELINE_PER_S).toFixed(1)),
        fc_vs_python: Number((fcRate.cpu / PYTHON_BASELINE_PER_S).toFixed(1)),
        load_avg_1m: Number(loadavg()[0].toFixed(2)),
        cpus: availableParallelism(),
        seconds_per_measure: seconds,
        node: process.version,
      },
      target: `>= ${TARGET_PER_S} checks per second of one core (CPU time), prompt and fc modes; Python checker ~${PYTHON_BASELINE_PER_S}/s`,
      pass: promptRate.cpu >= TARGET_PER_S && fcRate.cpu >= TARGET_PER_S,
    };
  },
});
