import { basename, relative, resolve } from 'node:path';
import { intFlag, parseFlags } from '../args.ts';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { bold, dim, paint } from '../../terminal.ts';
import { formatCall, formatMessage } from '../sim-format.ts';
import { findRunDir } from '../find-run.ts';
import { alignTable } from '../../loop/report.ts';
import { ANSWER_SPLITS, readSplitAnswers, type AnswerSplit, type SplitAnswers } from '../../loop/answers.ts';
import { filterAnswers, Miss, MISS_TEXT, pairAnswers, tallyAnswers, type Answer, type BfclAnswer, type GroupKey, type GroupTally, type PairedGroup, type Pairing } from '../../../protocols/loop/answers.ts';
import type { BfclExpected } from '../../../protocols/loop/records.ts';
import type { Label } from '../../../protocols/sample.ts';
import { formatBounds, formatPoints } from '../../../protocols/loop/ablation.ts';

const SHOW = ['wrong', 'right', 'all', 'changed'] as const;
type Show = (typeof SHOW)[number];
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function labelLines(l: Label, full: boolean): string[] {
  if (l.type === 'calls') return l.calls.map((c) => `${paint('→', 32)} ${formatCall(c)}`);
  const text = full ? l.text : clip(l.text.replace(/\s+/g, ' '), 240);
  return [text ? `text: ${text}` : dim('(empty text)')];
}

/** Lines under a name, the name on the first: `expected │ …`. */
function block(name: string, lines: string[], width: number): string[] {
  return lines.map((l, i) => `  ${(i === 0 ? name : '').padEnd(width)} │ ${l}`);
}

/** BFCL's ground truth: per call, each parameter's allowed values ('' : it may be left out). */
function bfclExpectedLines(e: BfclExpected | null): string[] {
  if (e === null) return [dim('no call (irrelevance)')];
  const value = (vs: string[]) => vs.map((v) => (v === "''" ? dim('(left out)') : v)).join(' | ');
  return e.map((c) => `${paint('→', 32)} ${c.name}(${Object.entries(c.params).map(([p, vs]) => `${p}=${value(vs)}`).join(', ')})`);
}

function expectedLines(a: Answer | BfclAnswer, full: boolean): string[] {
  return 'category' in a ? bfclExpectedLines(a.expected) : labelLines(a.expected, full);
}

/** The question: from the last user turn on (a tool result after it included), or all of it with --full. */
function question(a: Pick<Answer, 'context' | 'tools'>, full: boolean): string[] {
  const lastUser = a.context.map((m) => m.role).lastIndexOf('user');
  const from = full || lastUser < 0 ? 0 : lastUser;
  const shown = a.context.slice(from).map((m) => formatMessage(m, { full }));
  const earlier = from > 0 ? [dim(`  (${from} earlier message${from === 1 ? '' : 's'}; --full shows them)`)] : [];
  return [dim(`  tools: ${a.tools.join(', ')}`), ...earlier, ...shown.map((s) => s.replace(/^/gm, '  '))];
}

function verdict(a: Answer | BfclAnswer): string {
  if (a.correct) return paint('right', 32);
  return `${paint('wrong', 31)}: ${MISS_TEXT[a.miss!]}${a.cutOff ? ' (cut off at max_new_tokens)' : ''}`;
}

function missCells(t: GroupTally): string {
  return Miss.options
    .filter((m) => t.misses[m])
    .map((m) => `${m} ${t.misses[m]}`)
    .join(', ');
}

function tallyTable(all: GroupTally, groups: Record<string, GroupTally>, key: string): string {
  const row = (name: string, t: GroupTally) => [name, String(t.n), `${pct(t.accuracy.value)} ± ${pct(t.accuracy.se)}`, missCells(t) || '–'];
  return alignTable([key, 'n', 'right (± se)', 'wrong answers by how they missed'], [...Object.entries(groups).map(([k, t]) => row(k, t)), row('all', all)]);
}

function pairedTable(p: Pairing<Answer | BfclAnswer>, a: string, b: string, key: string): string {
  const row = (name: string, g: PairedGroup) => {
    const n = g.diff.n;
    return [name, String(n), pct((g.both + g.onlyA) / n), pct((g.both + g.onlyB) / n), `${formatPoints(g.diff.value, true)} ${formatBounds(g.diff)}`.trim(), `${g.onlyA} / ${g.onlyB}`];
  };
  return alignTable([key, 'n', a, b, `Δ points [95%]`, `only ${a} / only ${b}`], [...Object.entries(p.groups).map(([k, g]) => row(k, g)), row('all', p.all)]);
}

/** Names for the two sides: the rounds when both are one run, else the folders (their paths where the names clash). */
function sideNames(x: SplitAnswers, y: SplitAnswers): [string, string] {
  if (resolve(x.dir) === resolve(y.dir)) return [`round ${x.round}`, `round ${y.round}`];
  const [a, b] = [basename(x.dir), basename(y.dir)];
  if (a !== b) return [a, b];
  return [relative(process.cwd(), x.dir) || '.', relative(process.cwd(), y.dir) || '.'];
}

export default defineCommand({
  name: 'answers',
  summary:
    "a loop run's answers on its test or validation split (or BFCL, when it evaluates there) beside their questions: what it got wrong and how, by skill; --versus: the items that changed against another run or round",
  usage:
    'answers <run dir or id> [--round N] [--split test|validation|bfcl] [--skill S] [--kind K] [--category C] [--miss M] [--show wrong|right|all|changed] [--versus RUN] [--versus-round N] [--limit N] [--full] [--json]',
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      {
        round: { type: 'string' },
        split: { type: 'string', default: 'test' },
        skill: { type: 'string' },
        kind: { type: 'string' },
        category: { type: 'string' },
        miss: { type: 'string' },
        show: { type: 'string' },
        versus: { type: 'string' },
        'versus-round': { type: 'string' },
        limit: { type: 'string' },
        full: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      true,
    );
    if (positionals.length !== 1) throw new UsageError('give exactly one run (directory or id)');
    if (!(ANSWER_SPLITS as readonly string[]).includes(values.split)) throw new UsageError(`--split expects one of ${ANSWER_SPLITS.join(', ')}, got "${values.split}"`);
    const split = values.split as AnswerSplit;
    const bfcl = split === 'bfcl';
    if (bfcl && (values.skill !== undefined || values.kind !== undefined)) throw new UsageError('--split bfcl has categories, not skills or kinds: use --category C');
    if (!bfcl && values.category !== undefined) throw new UsageError('--category is for --split bfcl; the simulated splits have --skill and --kind');
    if (values.miss !== undefined && !Miss.safeParse(values.miss).success) throw new UsageError(`--miss expects one of ${Miss.options.join(', ')}, got "${values.miss}"`);
    const comparing = values.versus !== undefined || values['versus-round'] !== undefined;
    const show = (values.show ?? (comparing ? 'changed' : 'wrong')) as Show;
    if (!SHOW.includes(show)) throw new UsageError(`--show expects one of ${SHOW.join(', ')}, got "${values.show}"`);
    if (show === 'changed' && !comparing) throw new UsageError('--show changed needs --versus RUN or --versus-round N');
    const round = values.round === undefined ? undefined : intFlag(values.round, 'round', 0);
    const limit = intFlag(values.limit, 'limit', values.json ? 0 : 20);

    const mine = readSplitAnswers(findRunDir(positionals[0]!), split, round);
    const other = comparing
      ? readSplitAnswers(values.versus ? findRunDir(values.versus) : mine.dir, split, values['versus-round'] === undefined ? undefined : intFlag(values['versus-round'], 'versus-round', 0))
      : undefined;
    const filter = { skill: values.skill, kind: values.kind, category: values.category };
    const subset = filterAnswers(mine.answers, filter);
    const known = (what: GroupKey, v: string | undefined) => {
      const have = [...new Set(mine.answers.map((a) => (a as Partial<Record<GroupKey, string>>)[what]))];
      if (v !== undefined && !have.includes(v)) throw new UsageError(`--${what} "${v}" has no answer here (${what === 'category' ? 'categories' : `${what}s`} in this split: ${have.join(', ')})`);
    };
    known('skill', values.skill);
    known('kind', values.kind);
    known('category', values.category);
    const key: GroupKey = bfcl ? 'category' : filter.skill ? 'kind' : 'skill';
    const tally = tallyAnswers(subset, key);
    const pairing = other ? pairAnswers(subset, filterAnswers(other.answers, filter), key) : undefined;

    const byId = new Map(pairing?.pairs.map((p) => [p.a.id, p.b]));
    const listable = filterAnswers(subset, { miss: values.miss as Miss | undefined, outcome: show === 'changed' ? 'all' : show });
    const chosen = show === 'changed' ? listable.filter((a) => byId.has(a.id) && byId.get(a.id)!.correct !== a.correct) : listable;
    const listed = limit > 0 ? chosen.slice(0, limit) : chosen;

    if (values.json) {
      console.log(
        JSON.stringify({
          run: mine.dir,
          round: mine.round,
          rounds: mine.rounds,
          split,
          ...(mine.useTruth !== undefined ? { useTruth: mine.useTruth } : {}),
          filter: { ...filter, miss: values.miss, show },
          tally: { all: tally.all, [key]: tally.groups },
          ...(other && pairing
            ? { versus: { run: other.dir, round: other.round, paired: { all: pairing.all, [key]: pairing.groups }, onlyHere: pairing.onlyInA, onlyThere: pairing.onlyInB } }
            : {}),
          matching: chosen.length,
          answers: listed.map((a) => (byId.has(a.id) ? { ...a, versus: byId.get(a.id) } : a)),
        }),
      );
      return EXIT.ok;
    }

    const where = (r: SplitAnswers) => `${relative(process.cwd(), r.dir) || '.'} round ${r.round}`;
    const scope = [filter.skill && `skill ${filter.skill}`, filter.kind && `kind ${filter.kind}`, filter.category && `category ${filter.category}`].filter(Boolean).join(', ');
    const splitName = bfcl ? 'BFCL v3' : `${split} split`;
    console.log(bold(`${where(mine)}, ${splitName}${scope ? ` (${scope})` : ''}: ${tally.all.accuracy.k}/${tally.all.n} right, ${pct(tally.all.accuracy.value)} ± ${pct(tally.all.accuracy.se)} (se)`));
    console.log(dim(`${mine.scored}; rounds with answers: ${mine.rounds.join(', ')}`));
    if (bfcl && !filter.category) console.log(dim("(pooled over the questions; the report's BFCL overall is the unweighted mean over categories, as the leaderboard's)"));
    console.log('');
    console.log(tallyTable(tally.all, tally.groups, key));
    const [na, nb] = other ? sideNames(mine, other) : ['', ''];
    if (other && pairing) {
      console.log('');
      console.log(bold(`against ${where(other)}: the same ${pairing.all.diff.n} items, paired`));
      console.log(pairedTable(pairing, na, nb, key));
      console.log(dim(`The interval is over these ${bfcl ? 'questions' : 'test items'} for these two trained policies; another training seed moves a gap by more (ablate --seeds measures that).`));
      if (pairing.onlyInA.length || pairing.onlyInB.length)
        console.log(paint(`${pairing.onlyInA.length} items answered here only and ${pairing.onlyInB.length} there only are left out: the two did not answer the same ${bfcl ? 'questions' : 'split'}`, 33));
    }
    console.log('');
    const what = show === 'all' ? 'answers' : `${show} answers`;
    console.log(bold(`${chosen.length} ${what}${values.miss ? ` that ${MISS_TEXT[values.miss as Miss]}` : ''}${listed.length < chosen.length ? `, the first ${listed.length} (--limit 0 for all)` : ''}`));
    const width = Math.max(10, na.length, nb.length);
    for (const a of listed) {
      const b = byId.get(a.id);
      console.log('');
      const group = 'category' in a ? a.category : `${a.skill} ${dim(`(${a.kind})`)}`;
      console.log(`${bold(a.id)}  ${group}  ${b ? `${na}: ${verdict(a)}; ${nb}: ${verdict(b)}` : verdict(a)}`);
      console.log(question(a, values.full).join('\n'));
      if ('unoffered' in a && a.unoffered) for (const u of a.unoffered) console.log(dim(`  not offered: ${u}`));
      const lines = [...block('expected', expectedLines(a, values.full), width), ...block(b ? na : 'answer', labelLines(a.prediction, values.full), width)];
      if (b) lines.push(...block(nb, labelLines(b.prediction, values.full), width));
      const verdicts = (b ? [a, b] : [a]).flatMap((x) =>
        'errorType' in x && x.errorType ? [dim(`${b ? `${x === a ? na : nb}: ` : ''}${x.errorType}${x.error ? `: ${clip(x.error, values.full ? 10_000 : 240)}` : ''}`)] : [],
      );
      if (verdicts.length) lines.push(...block('checker', verdicts, width));
      console.log(lines.join('\n'));
      if (a.parseError && values.full) console.log(dim(`  parse error: ${a.parseError}`));
    }
    return EXIT.ok;
  },
});
