import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DialogueRecord } from '../../protocols/dialogue.ts';

// `looptool sim` in a real pseudo-terminal: tmux runs it, the test types into it with
// send-keys and reads the screen with capture-pane.

const SOCKET = `looptool-sim-test-${process.pid}`;
const ROOT = resolve('.');
let work: string;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
}

/** The whole pane, scrollback included; with `escapes`, colours too. */
function screen(session: string, escapes = false): string {
  return tmux('capture-pane', '-p', '-J', ...(escapes ? ['-e'] : []), '-S', '-2000', '-t', session);
}

async function waitFor(session: string, pred: (s: string) => boolean, what: string, ms = 60_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const s = screen(session);
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; screen:\n${s.split('\n').filter(Boolean).slice(-25).join('\n')}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const lastLine = (s: string) => s.split('\n').filter((l) => l.trim()).at(-1) ?? '';
const isPrompt = (l: string) => /^⏎ \S+\s*$/.test(l.trim()) || /^you\s+›\s*$/.test(l.trim());

function start(session: string, args: string): void {
  // remain-on-exit keeps the pane (and its last lines) after the command ends.
  const cmd = `cd ${ROOT} && LOOPTOOL_RUNS=${work}/runs NATS_URL= node --import tsx runtime/cli/main.ts sim ${args}; echo "EXIT=$?"`;
  tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', cmd);
  tmux('set-option', '-t', session, 'remain-on-exit', 'on');
}

before(() => {
  const r = spawnSync('tmux', ['-V']);
  if (r.status !== 0) throw new Error('tmux is missing: run `npm run setup` as root');
  work = mkdtempSync(join(tmpdir(), 'looptool-sim-pty-'));
});
after(() => {
  spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
  rmSync(work, { recursive: true, force: true });
});

test('sim --as user --step: the person types the user turns, each message waits for Enter, /s sends a suggestion, colours by role, --save writes the dialogue', async () => {
  const save = join(work, 'saved');
  start('play', `--seed pty-1 --domain travel --as user --step --save ${save}`);
  // The first user turn is the person's: a suggestion, then the prompt.
  const s0 = await waitFor('play', (s) => isPrompt(lastLine(s)) && /you\s+›/.test(lastLine(s)), 'the user prompt');
  assert.match(s0, /suggested: \S/);
  assert.match(s0, /plan: /);
  // Enter is the step key: at the user prompt it sends nothing, the suggestion included.
  tmux('send-keys', '-t', 'play', 'Enter');
  const s0b = await waitFor('play', (s) => /nothing sent/.test(s) && /you\s+›/.test(lastLine(s)), 'the prompt again, nothing sent');
  assert.doesNotMatch(s0b, /user\s+│/, 'no user message was sent');
  const typed = 'Hello from the keyboard: please do the first thing on the plan';
  tmux('send-keys', '-t', 'play', typed, 'Enter');
  // --step: the assistant does not answer until Enter.
  const s1 = await waitFor('play', (s) => /⏎ assistant/.test(lastLine(s)), 'the assistant step prompt');
  assert.match(s1, new RegExp(`user\\s+│ ${typed}`));
  // The sim assistant follows the plan, not the words: the terminal says so.
  assert.match(s1, /note: the sim assistant follows the dialogue's plan/);
  await new Promise((r) => setTimeout(r, 700));
  const after = screen('play');
  assert.equal(after.split(typed)[2]?.includes('assistant  │') ?? false, false, 'no assistant message before Enter');
  tmux('send-keys', '-t', 'play', 'Enter');
  await waitFor('play', (s) => (s.split(typed).at(-1) ?? '').includes('assistant  │'), 'the assistant message after Enter');

  // From here on: Enter at every step, /s at every user prompt (the suggestion), until the dialogue ends.
  const end = Date.now() + 90_000;
  let s = screen('play');
  while (!/EXIT=\d+/.test(s)) {
    if (Date.now() > end) throw new Error(`dialogue did not finish:\n${s.split('\n').filter(Boolean).slice(-20).join('\n')}`);
    const last = lastLine(s);
    if (isPrompt(last)) {
      if (/you\s+›/.test(last)) tmux('send-keys', '-t', 'play', '/s', 'Enter');
      else tmux('send-keys', '-t', 'play', 'Enter');
    }
    await new Promise((r) => setTimeout(r, 200));
    s = screen('play');
  }
  assert.match(s, /EXIT=0/);
  assert.match(s, /^(accepted|rejected)/m);
  // One step prompt per message: never two in a row with nothing between.
  const lines = s.split('\n').map((l) => l.trim()).filter(Boolean);
  const doubled = lines.findIndex((l, i) => /^⏎ \S+$/.test(l) && lines[i + 1] === l);
  assert.equal(doubled, -1, `a doubled step prompt: ${lines.slice(doubled - 2, doubled + 3).join(' / ')}`);
  assert.match(s, /tool\s+│ \S+ ←/);

  // Colours by role in the terminal: user blue, assistant green, tool yellow.
  const coloured = screen('play', true);
  assert.match(coloured, /\x1b\[34muser/);
  assert.match(coloured, /\x1b\[32massistant/);
  assert.match(coloured, /\x1b\[33mtool/);

  const rec = DialogueRecord.parse(JSON.parse(readFileSync(join(save, 'dialogue.json'), 'utf8')));
  assert.equal(rec.messages[0]!.role, 'user');
  assert.equal(rec.messages[0]!.content, typed);
  assert.ok(rec.messages.some((m) => m.role === 'assistant'));
  const samples = readFileSync(join(save, 'samples.jsonl'), 'utf8').trim();
  if (rec.status === 'accepted') assert.ok(samples.length > 0);
});

test('sim without --step runs the whole dialogue by itself; Ctrl-C at a prompt stops it with exit code 130', async () => {
  start('watch', '--seed pty-2 --tools 3');
  const s = await waitFor('watch', (x) => /EXIT=\d+/.test(x), 'the end of the dialogue', 90_000);
  assert.match(s, /EXIT=0/);
  assert.match(s, /user\s+│ \S/);
  assert.match(s, /assistant\s+│ \S/);
  assert.ok(!/⏎/.test(s), 'no step prompts without --step');

  start('stop', '--seed pty-3 --as user');
  await waitFor('stop', (x) => /you\s+›/.test(lastLine(x)), 'the user prompt');
  tmux('send-keys', '-t', 'stop', 'C-c');
  const stopped = await waitFor('stop', (x) => /EXIT=\d+/.test(x), 'the exit after Ctrl-C', 30_000);
  assert.match(stopped, /EXIT=130/);
  assert.match(stopped, /interrupted/);
});
