import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline/promises';
import { readConfigFile } from '../config-file.ts';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { intFlag, parseFlags } from '../args.ts';
import { bold, dim, paint } from '../../terminal.ts';
import { formatMessage, formatOutcome, formatPlan, formatTools, roleColor } from '../sim-format.ts';
import { BrainKind, RunConfig } from '../../../protocols/config.ts';
import { formatIssues, LooptoolError } from '../../../protocols/errors.ts';
import { ApiDesignerContract } from '../../../protocols/roles/api-designer.ts';
import { deriveRngSeed } from '../../../protocols/rng.ts';
import type { ToolSpec } from '../../../protocols/toolspec.ts';
import { LooptoolNode } from '../../bus/node.ts';
import { newRunId, runDir, writeJsonAtomic } from '../../rundir.ts';
import { storedRunConfig } from '../../run-config.ts';
import { busConfigFromEnv } from '../../bus/connect.ts';
import { builtinRoles, loadRoleModules } from '../../roles.ts';
import { exportLooptool, exportOpenAI } from '../../corpus.ts';
import { humanUserRole, runSimDialogue, sessionSeed, type HumanTurn } from '../../sim-session.ts';

const USAGE = [
  'sim [--domain D] [--subdomain S] [--tools N | --tools-file FILE] [--turns N] [--brain ROLE=sim|llm]... [--config FILE]',
  '    [--seed S] [--step] [--as user] [--save DIR] [--full] [--list-domains] [--nats URL]',
  '',
  '  --step        wait for Enter before each message (q + Enter: stop stepping)',
  '  --as user     you type the user\'s turns: your words + Enter, or /s + Enter to send the suggested request',
  '                (Enter alone sends nothing: it steps); /done ends the dialogue, /quit stops',
  '  --save DIR    write DIR/dialogue.json, DIR/samples.jsonl (looptool) and DIR/samples.openai.jsonl',
].join('\n');


function parseBrains(list: string[] | undefined): Record<string, BrainKind> {
  const out: Record<string, BrainKind> = {};
  for (const item of list ?? []) {
    const [role, kind] = item.split('=');
    const k = BrainKind.safeParse(kind);
    if (!role || !k.success) throw new UsageError(`--brain expects ROLE=sim or ROLE=llm, got "${item}"`);
    out[role] = k.data;
  }
  return out;
}

/** Reads lines for the step gate and the person's user turns; EOF means "go on without me". */
class Terminal {
  private rl: Interface;
  private closed = false;
  stepping: boolean;
  constructor(step: boolean, onInterrupt: () => void) {
    this.stepping = step;
    this.rl = createInterface({ input: process.stdin, output: process.stdout, terminal: !!process.stdin.isTTY });
    this.rl.on('close', () => (this.closed = true));
    this.rl.on('SIGINT', onInterrupt);
  }

  async ask(prompt: string, signal: AbortSignal): Promise<string | undefined> {
    if (this.closed) return undefined;
    try {
      return await this.rl.question(prompt, { signal });
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.rl.close();
  }
}

export default defineCommand({
  name: 'sim',
  summary: 'run one dialogue interactively: watch it message by message, step through it (--step), or play the user (--as user)',
  usage: USAGE,
  async run(argv) {
    const { values } = parseFlags(argv, {
      domain: { type: 'string' },
      subdomain: { type: 'string' },
      tools: { type: 'string' },
      'tools-file': { type: 'string' },
      turns: { type: 'string' },
      brain: { type: 'string', multiple: true },
      config: { type: 'string' },
      seed: { type: 'string' },
      step: { type: 'boolean', default: false },
      as: { type: 'string' },
      save: { type: 'string' },
      full: { type: 'boolean', default: false },
      'list-domains': { type: 'boolean', default: false },
      nats: { type: 'string' },
    });
    if (values.as !== undefined && values.as !== 'user') throw new UsageError(`--as: only "user" can be played by a person, got "${values.as}"`);
    const asUser = values.as === 'user';
    if (asUser && values.nats) throw new UsageError('--as user serves a user role of its own: run it on the private bus (drop --nats)');
    const base = readConfigFile(values.config);
    const turns = values.turns ? intFlag(values.turns, 'turns', 0, 1) : undefined;
    if (turns !== undefined && turns > 16) throw new UsageError('--turns expects 1..16');
    const config = RunConfig.parse({
      ...base,
      brains: { ...base.brains, ...parseBrains(values.brain) },
      seeding: { ...base.seeding, ...(turns ? { targetTurns: turns } : {}) },
    });
    const count = values.tools ? intFlag(values.tools, 'tools', 4, 1) : undefined;
    const rngSeed = values.seed ?? sessionSeed();
    const run = newRunId('sim');
    const dir = runDir(run);
    writeJsonAtomic(join(dir, 'config.json'), storedRunConfig(config));

    const abort = new AbortController();
    const interrupt = () => abort.abort(new Error('interrupted'));
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const term = new Terminal(values.step, interrupt);
    // Sim runs on its own embedded bus unless told otherwise: its roles are its own.
    const node = await LooptoolNode.start({ run, runDir: dir, bus: values.nats ? busConfigFromEnv({ url: values.nats }) : { name: 'looptool-sim' }, config: config as unknown as Record<string, unknown> });
    try {
      const dialogueRoles = await builtinRoles('seed');
      const extra = await loadRoleModules(config.roles);
      // The sim assistant follows the dialogue's plan, not the words: say so the first time they differ.
      const simAssistant = (config.brains.assistant ?? config.defaultBrain) === 'sim';
      const human = asUser ? humanUserRole(config, (t) => askUser(term, t, abort.signal, simAssistant)) : undefined;
      for (const r of [...dialogueRoles.filter((x) => !(human && x.contract.name === 'user')), ...(human ? [human] : []), ...extra]) await node.serve(r);

      if (values['list-domains']) {
        const tax = await node.call(ApiDesignerContract, 'taxonomy', {});
        for (const d of tax.domains) console.log(`${bold(d.id)}: ${d.subdomains.map((s) => s.id).join(', ')}`);
        return EXIT.ok;
      }

      console.log(`${bold('looptool sim')} ${dim(`seed ${rngSeed} · run ${run} · watch: looptool view --run ${run}`)}`);
      const brains = ['planner', 'user', 'assistant', 'tool', 'judge'].map((r) => `${r}=${r === 'user' && asUser ? 'you' : (config.brains[r] ?? config.defaultBrain)}`);
      console.log(dim(`brains: ${brains.join(' ')}${config.seeding.reviewers.length ? ` · reviewers: ${config.seeding.reviewers.join(', ')}` : ''}`));

      const tools = await pickTools(node, values, count, rngSeed);
      console.log(formatTools(tools));

      let printedPlan = false;
      let badSeen = 0;
      const out = await runSimDialogue({
        node,
        config,
        id: `sim-${rngSeed}`.replace(/[^A-Za-z0-9_-]/g, '-'),
        seed: deriveRngSeed(rngSeed, 'dialogue'),
        tools,
        signal: abort.signal,
        gate: values.step
          ? async (role) => {
              if (!term.stepping || (asUser && role === 'user')) return;
              const a = await term.ask(dim(`⏎ ${paint(role, roleColor(role))} `), abort.signal);
              if (a === undefined || a.trim() === 'q') term.stepping = false;
            }
          : undefined,
        events: {
          message: (m) => console.log(formatMessage(m, { full: values.full })),
          state: (to, _from, info) => {
            if (info.plan && !printedPlan) {
              printedPlan = true;
              console.log(`${formatPlan(info.plan)}\n${dim('─'.repeat(60))}`);
            }
            for (; badSeen < info.badTurns.length; badSeen++) {
              const b = info.badTurns[badSeen]!;
              console.log(dim(`  ✗ bad ${b.role} turn, drawn again: ${b.reason.slice(0, 200)}`));
            }
            if (to === 'validating.rules') console.log(dim('─'.repeat(60)));
            if (to === 'validating.judging') console.log(dim('  … the judge votes'));
          },
        },
      });
      console.log(formatOutcome(out.record, out.samples));
      if (values.save) {
        const saveDir = resolve(values.save);
        mkdirSync(saveDir, { recursive: true });
        writeJsonAtomic(join(saveDir, 'dialogue.json'), out.record);
        exportLooptool(out.samples, join(saveDir, 'samples.jsonl'), { includeMasked: true });
        const n = exportOpenAI(out.samples, join(saveDir, 'samples.openai.jsonl'));
        console.log(dim(`saved ${join(saveDir, 'dialogue.json')}, ${out.samples.length} samples in samples.jsonl (${n} unmasked in samples.openai.jsonl)`));
      }
      return EXIT.ok;
    } catch (err) {
      if (abort.signal.aborted) {
        console.log(dim('\ninterrupted'));
        return EXIT.interrupted;
      }
      if (err instanceof LooptoolError) throw new Error(`${err.message}${err.reply.issues.length ? `: ${formatIssues(err.reply.issues)}` : ''}`);
      throw err;
    } finally {
      term.close();
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      await node.stop();
    }
  },
});

async function pickTools(node: LooptoolNode, values: { domain?: string; subdomain?: string; 'tools-file'?: string }, count: number | undefined, rngSeed: string): Promise<ToolSpec[]> {
  if (values['tools-file']) {
    let text: string;
    try {
      text = readFileSync(values['tools-file'], 'utf8');
    } catch (err) {
      throw new UsageError(`--tools-file: ${(err as Error).message}`);
    }
    const imported = await node.call(ApiDesignerContract, 'import', { format: 'auto', source: text, origin: values['tools-file'] });
    for (const i of imported.issues.slice(0, 5)) console.log(dim(`  import: ${i.path}: ${i.message}`));
    if (!imported.tools.length) throw new UsageError(`--tools-file ${values['tools-file']}: no usable tool specs`);
    return count ? imported.tools.slice(0, count) : imported.tools;
  }
  if (values.domain || values.subdomain) {
    const tax = await node.call(ApiDesignerContract, 'taxonomy', {});
    const d = values.domain ? tax.domains.find((x) => x.id === values.domain) : undefined;
    if (values.domain && !d) throw new UsageError(`--domain "${values.domain}" is not in the context tree; known: ${tax.domains.map((x) => x.id).join(', ')}`);
    const subs = (d ? [d] : tax.domains).flatMap((x) => x.subdomains.map((s) => s.id));
    if (values.subdomain && !subs.includes(values.subdomain)) throw new UsageError(`--subdomain "${values.subdomain}" is not in ${values.domain ?? 'the context tree'}; known: ${subs.join(', ')}`);
  }
  const out = await node.call(ApiDesignerContract, 'design', {
    seed: deriveRngSeed(rngSeed, 'tools'),
    ...(count ? { count } : {}),
    ...(values.domain ? { domain: values.domain } : {}),
    ...(values.subdomain ? { subdomain: values.subdomain } : {}),
  });
  return out.tools;
}

let toldIgnored = false;

/**
 * The person's user turn: shows the plan's next request as a suggestion. Sending is
 * its own key (`/s`): Enter alone is the step key, so a press meant to step never
 * sends the suggestion by accident.
 */
async function askUser(term: Terminal, t: HumanTurn, signal: AbortSignal, simAssistant: boolean): Promise<{ content: string; done: boolean }> {
  const s = t.suggestion;
  console.log(dim(s.done ? '  (the plan is done: /done ends the dialogue, or write one more request)' : `  suggested: ${s.content}   (/s sends it)`));
  for (;;) {
    const line = await term.ask(`${paint('you'.padEnd(10), roleColor('user'))} ${paint('›', roleColor('user'))} `, signal);
    if (signal.aborted) throw new Error('interrupted');
    if (line === undefined) return s; // no terminal input left: the simulated user speaks
    const text = line.trim();
    if (text === '/quit') {
      process.kill(process.pid, 'SIGINT');
      throw new Error('interrupted');
    }
    if (text === '/done') return { content: '', done: true };
    if (text === '/s') return s.done ? { content: '', done: true } : s;
    if (text === '') {
      console.log(dim(`  nothing sent: type your request, ${s.done ? '/done to end' : '/s to send the suggestion'}, or /quit`));
      continue;
    }
    if (simAssistant && !toldIgnored && text !== s.content) {
      toldIgnored = true;
      console.log(dim('  note: the sim assistant follows the dialogue\'s plan, not your words: they change the transcript, not its calls (--brain assistant=llm reads what you type)'));
    }
    return { content: text, done: false };
  }
}
