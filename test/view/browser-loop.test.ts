import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, launchChromium, type Browser } from './chromium.ts';
import { startCli, type CliProcess } from '../helpers/cli.ts';
import { TINY_LOOP_CONFIG } from '../loop/tiny.ts';
import { SseReader } from './sse.ts';
import { ExpansionRecord, ProbeRecord, VerdictRecord } from '../../protocols/loop/records.ts';

// The viewer on a real closed loop: `looptool run` (sim roles, the tiny policy trained by
// the PyTorch worker), nested as the demo nests its runs, watched by `looptool view` with
// no argument from its start to its end. Needs the policy worker (torch).

const root = mkdtempSync(join(tmpdir(), 'looptool-browser-loop-'));
const env = { LOOPTOOL_RUNS: root, LOOPTOOL_LOG_LEVEL: 'warn', LOOPTOOL_TORCH_THREADS: '1' };
let browser: Browser;
const procs: CliProcess[] = [];

before(async () => {
  browser = await launchChromium();
});
after(async () => {
  for (const p of procs) p.child.kill('SIGKILL');
  await browser?.close();
  rmSync(root, { recursive: true, force: true });
});

test('a live `looptool run` is found by `view` with no argument, lights its states, ends "finished", and its charts say what its report says', async () => {
  const { page } = browser;
  const config = join(root, 'tiny.json');
  // with two BFCL questions each round, so that BFCL's chart points open its answers
  const bfcl = { categories: ['simple'], limit: 2, max_new_tokens: 16 };
  writeFileSync(config, JSON.stringify({ ...TINY_LOOP_CONFIG, seed: 'view-loop', loop: { ...TINY_LOOP_CONFIG.loop, rounds: 2, eval: { ...TINY_LOOP_CONFIG.loop.eval, bfcl } } }));
  const run = startCli(['run', '--config', config, '--out', join(root, 'cmp-v', 'full'), '--quiet'], env);
  procs.push(run);
  for (let i = 0; i < 1200 && !existsSync(join(root, '.live', 'cmp-v_full.json')); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(join(root, '.live', 'cmp-v_full.json')), `the loop run announced itself: ${run.output()}`);

  const view = startCli(['view', '--port', '0'], env);
  procs.push(view);
  const url = /(http:\/\/\S+)/.exec(await view.line(/looptool view: http:/, 60_000))![1]!;
  assert.match(view.output(), /live run cmp-v\/full/);
  await page.goto(url);
  await page.waitForSelector('#status[data-status="live"]', { timeout: 30_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.run), 'cmp-v_full');
  // The stream grows: watched in the protocol view, whose events go on to the run's end. The
  // conversation view (where the page turns by itself) holds the seed dialogues only, which a
  // page opened late on a slow machine finds already whole.
  await page.selectOption('#f-mode', 'protocol');
  await page.waitForFunction(() => document.body.dataset.msgsSynced === '1' && Number(document.body.dataset.msgTotal ?? 0) > 0, undefined, { timeout: 120_000 });
  const first = Number(await page.evaluate(() => document.body.dataset.msgTotal));
  await page.waitForFunction((n) => Number(document.body.dataset.msgTotal) > n, first, { timeout: 120_000 });
  await page.waitForSelector('#loop-svg .node.active[data-state="training"]', { timeout: 600_000 });

  assert.equal(await run.exited, 0, run.output());
  await page.waitForSelector('#status[data-status="finished"]', { timeout: 30_000 });
  await page.waitForSelector('#loop-svg .node.active[data-state="done"]', { timeout: 30_000 });
  await view.line(/run cmp-v\/full finished/, 20_000, { printed: true });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(view.output().match(/finished/g)?.length, 1, view.output());

  // The rounds speak in the conversation view too, as their records say: each probe (the
  // sample, the policy's answer, ToolMatch's outcome), the judge's verdict on each miss, each
  // attempt at an expansion.
  const conv = new SseReader(`http://127.0.0.1:${new URL(url).port}/api/events?run=cmp-v_full&conversation=1&follow=0`);
  await conv.done;
  const said = new Map<string, { roles: string[]; outcomes: string[] }>();
  for (const e of conv.events()) {
    const d = e.data as { dialogue: string; message?: { role: string }; status?: string };
    const c = said.get(d.dialogue) ?? { roles: [], outcomes: [] };
    said.set(d.dialogue, c);
    if (e.kind === 'message') c.roles.push(d.message!.role);
    else if (d.status) c.outcomes.push(d.status);
  }
  const records = <T,>(f: string, schema: { parse(v: unknown): T }) => readFileSync(join(root, 'cmp-v', 'full', f), 'utf8').split('\n').filter(Boolean).map((l) => schema.parse(JSON.parse(l)));
  for (const j of [1, 2]) {
    const probes = records(`round-${j}/probes.jsonl`, ProbeRecord);
    const verdicts = new Map(records(`round-${j}/verdicts.jsonl`, VerdictRecord).map((v) => [v.id, v.verdict]));
    assert.ok(probes.length > 0);
    for (const p of probes) {
      const c = said.get(`r${j}.probe.${p.id}`);
      assert.ok(c, `round ${j}: probe ${p.id} in the conversation view`);
      assert.equal(c.roles[0], 'user');
      assert.equal(c.roles.at(-1), 'assistant', 'the policy\'s answer closes it');
      assert.deepEqual(c.outcomes, p.mastered ? ['mastered'] : ['failed', verdicts.get(p.id)]);
    }
    for (const x of records(`round-${j}/expansions.jsonl`, ExpansionRecord).filter((r) => r.accepted)) {
      const c = said.get(`r${j}.expand.${x.parent}.${x.slot}${x.attempts > 1 ? `.${x.attempts - 1}` : ''}`);
      assert.ok(c && c.roles.length > 1, `round ${j}: expansion ${x.parent}#${x.slot} in the conversation view`);
      assert.deepEqual(c.outcomes, ['accepted']);
    }
  }

  // One of them read as a transcript: a missed probe of round 2, then the judge's verdict.
  const missed = records('round-2/probes.jsonl', ProbeRecord).find((p) => !p.mastered);
  assert.ok(missed, 'the tiny policy misses some of round 2');
  await page.selectOption('#f-mode', 'conversation');
  await page.fill('#f-dialogue', `r2.probe.${missed.id}`);
  await page.waitForSelector(`#msg-list .msg[data-dialogue="r2.probe.${missed.id}"]`, { timeout: 20_000 });
  await page.click('#msg-list .msg');
  await page.waitForFunction(() => document.querySelectorAll('#transcript .bubble.role-judge').length === 2, undefined, { timeout: 20_000 });
  const bubbles = await page.$$eval('#transcript .bubble', (bs) => bs.map((b) => b.className.replace(/^bubble role-(\w+).*$/, '$1')));
  assert.deepEqual(bubbles.slice(-3), ['assistant', 'judge', 'judge'], bubbles.join(' '));
  // the whole conversation view again, the transcript kept open (the page's picture below)
  await page.click('#f-clear');
  await page.waitForFunction(() => Number(document.body.dataset.msgTotal) > 4, undefined, { timeout: 20_000 });

  // A point of the skill chart opens that round's wrong answers of that skill, as eval.jsonl has them.
  const answered = (j: number) => readFileSync(join(root, 'cmp-v', 'full', `round-${j}`, 'eval.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; skill: string; correct: boolean });
  const misses = [0, 1, 2].flatMap((j) => answered(j).filter((a) => !a.correct).map((a) => ({ ...a, round: j })));
  assert.ok(misses.length > 0, 'the tiny policy misses some test answers');
  const pick = misses[0]!;
  // (dispatched to the point itself: skills of equal accuracy draw their points on one spot)
  await page.dispatchEvent(`#chart-kinds circle.point[data-series="${pick.skill}"][data-round="${pick.round}"]`, 'click');
  await page.waitForSelector(`#answers-panel[data-shown][data-round="${pick.round}"]`, { timeout: 20_000 });
  const cards = await page.$$eval('#answers-list > .answer', (as) => as.map((a) => [a.getAttribute('data-id'), a.classList.contains('wrong')]));
  assert.deepEqual(cards, misses.filter((m) => m.round === pick.round && m.skill === pick.skill).map((m) => [m.id, true]));
  const inSkill = answered(pick.round).filter((a) => a.skill === pick.skill);
  assert.match(await page.textContent('#answers-head') ?? '', new RegExp(`round ${pick.round} · test split · skill ${pick.skill}: ${inSkill.filter((a) => a.correct).length}/${inSkill.length} right`));
  const card = await page.$$eval('#answers-list > .answer:first-child > *', (es) => es.map((e) => e.className));
  assert.deepEqual([card[0], card.at(-2), card.at(-1)], ['answer-head', 'answer-label expected', 'answer-label prediction']);
  assert.ok(card.includes('bubble role-user'), card.join(' '));
  // the run's own accuracy point: every answer of round 2, right ones too
  // (three to a page here, so that the page's "show more" is needed)
  await page.selectOption('#answers-outcome', 'all');
  await page.evaluate(() => (document.querySelector<HTMLElement>('#answers-panel')!.dataset.page = '3'));
  await page.dispatchEvent('#chart-accuracy circle.point[data-series="full"][data-round="2"]', 'click');
  const all2 = answered(2).map((a) => a.id);
  const shownNow = async (n: number) =>
    page.waitForFunction((k) => document.querySelector('#answers-panel')?.getAttribute('data-shown') === String(k) && document.querySelector('#answers-panel')?.getAttribute('data-round') === '2' && !document.querySelector('#answers-panel')?.hasAttribute('data-loading'), n, { timeout: 20_000 });
  await shownNow(3);
  assert.match(await page.textContent('#answers-head') ?? '', new RegExp(`the first 3 of ${all2.length} shown`));
  for (let n = 3; n < all2.length; ) {
    assert.equal(await page.isVisible('#answers-more'), true);
    await page.click('#answers-more');
    await shownNow((n = Math.min(n + 3, all2.length)));
  }
  assert.equal(await page.isVisible('#answers-more'), false, 'nothing more to show');
  assert.deepEqual(await page.$$eval('#answers-list > .answer', (as) => as.map((a) => a.getAttribute('data-id'))), all2, 'the pages in order, none twice');
  await page.evaluate(() => delete document.querySelector<HTMLElement>('#answers-panel')!.dataset.page);
  // and the panel's own choices: round 1, one skill
  await page.selectOption('#answers-round', '1');
  await page.waitForSelector('#answers-panel[data-round="1"]:not([data-loading])', { timeout: 20_000 });
  await page.selectOption('#answers-skill', pick.skill);
  const inRound1 = answered(1).filter((a) => a.skill === pick.skill).map((a) => a.id);
  await page.waitForFunction((n) => document.querySelector('#answers-panel')?.getAttribute('data-shown') === String(n) && !document.querySelector('#answers-panel')?.hasAttribute('data-loading'), inRound1.length, { timeout: 20_000 });
  assert.deepEqual(await page.$$eval('#answers-list > .answer', (as) => as.map((a) => a.getAttribute('data-id'))), inRound1);
  // BFCL's point of round 2: its answers, each with the checker's verdict where wrong
  const bfclItems = readFileSync(join(root, 'cmp-v', 'full', 'round-2', 'eval-bfcl.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; correct: boolean });
  assert.equal(bfclItems.length, 2);
  await page.dispatchEvent('#chart-accuracy circle.point[data-series="full · BFCL v3"][data-round="2"]', 'click');
  await page.waitForFunction(() => /· BFCL v3: /.test(document.querySelector('#answers-head')?.textContent ?? '') && !document.querySelector('#answers-panel')?.hasAttribute('data-loading'), undefined, { timeout: 20_000 });
  assert.deepEqual(await page.$$eval('#answers-list > .answer', (as) => as.map((a) => [a.getAttribute('data-id'), a.classList.contains('wrong'), !!a.querySelector('.answer-label.checker')])), bfclItems.map((i) => [i.id, !i.correct, !i.correct]));
  assert.equal(await page.textContent('#answers-group-name'), 'category');
  assert.deepEqual(await page.$$eval('#answers-skill option', (os) => os.map((o) => o.textContent)), ['all', 'simple']);
  // back to a skill's answers (what the page's picture shows): the group choice reads 'skill' again
  await page.dispatchEvent(`#chart-kinds circle.point[data-series="${pick.skill}"][data-round="${pick.round}"]`, 'click');
  await page.waitForFunction((s) => (document.querySelector('#answers-head')?.textContent ?? '').includes(`skill ${s}:`) && !document.querySelector('#answers-panel')?.hasAttribute('data-loading'), pick.skill, { timeout: 20_000 });
  assert.equal(await page.textContent('#answers-group-name'), 'skill');
  const api = `http://127.0.0.1:${new URL(url).port}/api/answers`;
  const bad = await fetch(`${api}?round=minus-one`);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /round: /);
  assert.equal((await fetch(`${api}?variant=..`)).status, 400, 'a variant is a sibling folder, never a way up');
  assert.deepEqual(await (await fetch(`${api}?variant=static`)).json(), { available: false, reason: 'no run "static" beside this one' });
  assert.deepEqual(await (await fetch(`${api}?run=another`)).json(), { available: false, reason: 'this page serves run cmp-v_full, not another' });

  // Composition: D_1 … D_n exactly as report.md lists them.
  await page.waitForSelector('#chart-composition.has-data svg rect', { timeout: 20_000 });
  const labels = await page.$$eval('#chart-composition .round-label', (ts) => ts.map((t) => t.textContent));
  const inReport = [...readFileSync(join(root, 'cmp-v', 'full', 'report.md'), 'utf8').matchAll(/^\| (D_\d+) \|/gm)].map((m) => m[1]);
  assert.deepEqual(labels, inReport);
  assert.deepEqual(labels, ['D_1', 'D_2']);
  // Accuracy: whole rounds 0..2, with intervals.
  const ticks = await page.$$eval('#chart-accuracy .round-tick', (ts) => ts.map((t) => t.textContent));
  assert.deepEqual(ticks, ['0', '1', '2']);
  // GRPO steps drawn; a KL axis, when there is one, never reads "-0".
  await page.waitForSelector('#chart-grpo.has-data canvas', { timeout: 20_000 });
  const klTicks = await page.$$eval('#chart-kl .u-axis', (as) => as.map((a) => a.textContent ?? '').join(' '));
  assert.doesNotMatch(klTicks, /(^|\s)-0(\s|$)/);
  // One chart per quantity family: no trainer chart mixes a loss with token counts.
  const families = await page.$$eval('#charts-panel figure.generic', (fs) => fs.map((f) => `${f.getAttribute('data-role')}/${f.getAttribute('data-family')}`));
  assert.equal(new Set(families).size, families.length, families.join(' '));

  await page.screenshot({ path: join(ARTIFACTS, 'loop.png'), fullPage: true });
  // The README's picture of the viewer is this page: LOOPTOOL_UPDATE_DOCS=1 refreshes it.
  if (process.env.LOOPTOOL_UPDATE_DOCS === '1') await page.screenshot({ path: 'docs/viewer.png', fullPage: true });
  assert.deepEqual(browser.external, [], 'the page fetched nothing from outside');
  assert.deepEqual(browser.consoleErrors, [], 'no errors in the page');
});
