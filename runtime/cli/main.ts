import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT, UsageError, type Command } from './command.ts';
import { diskFullHint } from './disk-full.ts';
import { Namespace } from '../../protocols/envelope.ts';

const here = dirname(fileURLToPath(import.meta.url));
const commandsDir = join(here, 'commands');

function commandNames(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function load(name: string): Promise<Command> {
  const mod = (await import(join(commandsDir, `${name}.ts`))) as { default: Command };
  return mod.default;
}

async function help(): Promise<void> {
  const lines = ['looptool — closed-loop data evolution for tool-calling models', '', 'commands:'];
  for (const n of commandNames()) {
    const c = await load(n);
    lines.push(`  ${n.padEnd(10)} ${c.summary}`);
  }
  lines.push(
    '',
    'global options:',
    '  --namespace NAME  request subjects and queue groups of this process in NAME (default: the run id, or LOOPTOOL_NAMESPACE):',
    '                    a shared namespace lets runs use a pool of role workers (`looptool up --namespace NAME`)',
    '',
    'looptool <command> --help for its options',
  );
  console.log(lines.join('\n'));
}

/**
 * Takes the global `--namespace NAME` (or `--namespace=NAME`) out of argv, wherever it
 * stands, into LOOPTOOL_NAMESPACE: every node of this process (and of the processes it
 * starts) then serves and calls in that namespace.
 */
function takeNamespace(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    let value: string | undefined;
    if (a === '--namespace') {
      value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError('--namespace expects a name');
    } else if (a.startsWith('--namespace=')) value = a.slice('--namespace='.length);
    else {
      out.push(a);
      continue;
    }
    const ok = Namespace.safeParse(value);
    if (!ok.success) throw new UsageError(`--namespace "${value}": expected letters, digits, "_" or "-" (one NATS subject token)`);
    process.env.LOOPTOOL_NAMESPACE = value;
  }
  return out;
}

async function main(args: string[]): Promise<number> {
  let argv: string[];
  try {
    argv = takeNamespace(args);
  } catch (err) {
    console.error(`looptool: ${(err as Error).message}`);
    return EXIT.usage;
  }
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    await help();
    return name ? EXIT.ok : EXIT.usage;
  }
  if (!commandNames().includes(name)) {
    console.error(`looptool: unknown command "${name}". Known: ${commandNames().join(', ')}`);
    return EXIT.usage;
  }
  const cmd = await load(name);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: looptool ${cmd.usage}\n\n${cmd.summary}`);
    return EXIT.ok;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`looptool ${name}: ${err.message}\nusage: looptool ${cmd.usage}`);
      return EXIT.usage;
    }
    const message = err instanceof Error ? err.message : String(err);
    console.error(`looptool ${name}: ${message}`);
    const hint = diskFullHint(message);
    if (hint) console.error(`looptool ${name}: ${hint}`);
    if (process.env.LOOPTOOL_DEBUG) console.error(err);
    return EXIT.failed;
  }
}

// Output piped into a reader that stops early (`looptool answers RUN | head`) is not a failure:
// the reader has what it wanted, so the command ends quietly instead of with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? EXIT.ok);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = EXIT.failed;
  },
);
