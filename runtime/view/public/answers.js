// The answers panel: a round's answers on the held-out split or BFCL (/api/answers), opened
// by a click on a point of the accuracy or skill chart. Each answer shows the request from
// its last user turn, the label it was scored against and what the policy said, wrong ones
// first with how they missed (and, on BFCL, the checker's verdict); what `looptool answers`
// prints in the terminal.

const SUFFIX_SPLIT = ' (validation split)';

/** What a clicked chart point asks for: the run (or a sibling variant), its split, a skill. */
export function answersAsk(chart, series, round, current) {
  if (chart === 'kinds') return { round, skill: series };
  let name = series.split(' · ')[0];
  const ask = { round };
  if (series.endsWith(' · BFCL v3')) ask.split = 'bfcl';
  else if (name.endsWith(SUFFIX_SPLIT)) {
    name = name.slice(0, -SUFFIX_SPLIT.length);
    ask.split = 'validation';
  }
  if (name !== current) ask.variant = name;
  return ask;
}

export class AnswersPanel {
  /** `bubble(chat)`: a message as the transcript draws it; `run()`: the page's run id. */
  constructor(root, { bubble, callText, run }) {
    this.root = root;
    this.bubble = bubble;
    this.callText = callText;
    this.run = run;
    this.head = root.querySelector('#answers-head');
    this.list = root.querySelector('#answers-list');
    this.outcome = root.querySelector('#answers-outcome');
    this.hint = this.head.textContent;
    this.roundSel = root.querySelector('#answers-round');
    this.skillSel = root.querySelector('#answers-skill');
    this.groupName = root.querySelector('#answers-group-name');
    this.more = root.querySelector('#answers-more');
    this.more.addEventListener('click', () => this.ask && void this.load(this.ask, { append: true }));
    // the panel's own choices reach what a chart point cannot (points of equal accuracy overlap)
    this.outcome.addEventListener('change', () => this.ask && void this.load(this.ask));
    this.roundSel.addEventListener('change', () => this.ask && void this.load((this.ask = { ...this.ask, round: Number(this.roundSel.value) })));
    this.skillSel.addEventListener('change', () => {
      if (!this.ask) return;
      const key = this.groupKey ?? 'skill';
      const { [key]: _group, ...rest } = this.ask;
      this.ask = this.skillSel.value ? { ...rest, [key]: this.skillSel.value } : rest;
      void this.load(this.ask);
    });
  }

  /** Answers are fetched a page at a time (a round of a large test split has thousands); data-page sets how many. */
  get pageSize() {
    return Number(this.root.dataset.page) || 200;
  }

  reset() {
    this.ask = undefined;
    this.more.hidden = true;
    this.list.replaceChildren();
    this.head.textContent = this.hint;
    delete this.root.dataset.shown;
  }

  async open(ask) {
    this.ask = ask;
    await this.load(ask);
    this.root.scrollIntoView({ block: 'nearest' });
  }

  /** `append`: the next page of the same answers, after those shown. */
  async load(ask, { append = false } = {}) {
    const offset = append ? this.list.children.length : 0;
    const q = new URLSearchParams({ ...ask, outcome: this.outcome.value, limit: String(this.pageSize), offset: String(offset), ...(this.run() ? { run: this.run() } : {}) });
    this.root.dataset.loading = '1';
    // the newest ask wins: an older reply arriving late is dropped
    const mine = (this.seq = (this.seq ?? 0) + 1);
    let r;
    try {
      const res = await fetch(`/api/answers?${q}`);
      r = await res.json();
      if (!res.ok) r = { available: false, reason: r.error ?? `HTTP ${res.status}` };
    } catch (err) {
      r = { available: false, reason: String(err) };
    }
    if (mine !== this.seq) return;
    delete this.root.dataset.loading;
    this.render(ask, r, append);
  }

  render(ask, r, append) {
    if (!append) this.list.replaceChildren();
    if (!r.available) {
      this.list.replaceChildren();
      this.more.hidden = true;
      this.head.textContent = r.reason;
      this.root.dataset.shown = '0';
      return;
    }
    for (const a of r.answers) this.list.append(this.card(a, r));
    const shown = this.list.children.length;
    const t = r.tally;
    const pct = (x) => `${(100 * x).toFixed(1)}%`;
    const key = (this.groupKey = r.groupKey);
    const what = [r.run, `round ${r.round}`, r.split === 'bfcl' ? 'BFCL v3' : `${r.split} split`, ask[key] && `${key} ${ask[key]}`].filter(Boolean).join(' · ');
    const misses = Object.entries(t.misses)
      .map(([m, n]) => `${n} ${r.missText[m]}`)
      .join('; ');
    this.head.textContent = `${what}: ${t.accuracy.k}/${t.n} right (${pct(t.accuracy.value)} ± ${pct(t.accuracy.se)})${misses ? ` · wrong: ${misses}` : ''} · ${shown < r.matching ? `the first ${shown} of ${r.matching}` : `${r.matching}`} shown`;
    this.root.dataset.shown = String(shown);
    this.more.hidden = shown >= r.matching;
    this.more.textContent = `show ${Math.min(this.pageSize, r.matching - shown)} more`;
    this.roundSel.replaceChildren(...r.rounds.map((j) => new Option(String(j), String(j), false, j === r.round)));
    this.groupName.textContent = key;
    this.skillSel.replaceChildren(new Option('all', '', false, !ask[key]), ...r.groups.map((k) => new Option(k, k, false, k === ask[key])));
    this.root.dataset.round = String(r.round);
  }

  card(a, r) {
    const card = document.createElement('article');
    card.className = `answer ${a.correct ? 'right' : 'wrong'}`;
    card.dataset.id = a.id;
    const head = document.createElement('div');
    head.className = 'answer-head';
    const group = a.category ?? `${a.skill} (${a.kind})`;
    head.textContent = `${a.id} · ${group} · ${a.correct ? 'right' : `wrong: ${r.missText[a.miss]}`}${a.cutOff ? ' · cut off at max_new_tokens' : ''}`;
    card.append(head);
    const lastUser = a.context.map((m) => m.role).lastIndexOf('user');
    for (const m of a.context.slice(Math.max(0, lastUser))) card.append(this.bubble(m));
    card.append(a.category === undefined ? this.label('expected', a.expected) : this.bfclExpected(a.expected), this.label('prediction', a.prediction));
    if (a.errorType) card.append(this.row('checker', a.errorType + (a.error ? `: ${a.error}` : '')));
    return card;
  }

  /** BFCL's ground truth: per call, each parameter's allowed values ('' : it may be left out). */
  bfclExpected(e) {
    if (e === null) return this.row('expected', 'no call (irrelevance)');
    const row = this.row('expected');
    const value = (vs) => vs.map((v) => (v === "''" ? '(left out)' : v)).join(' | ');
    for (const c of e) {
      const code = document.createElement('code');
      code.textContent = `${c.name}(${Object.entries(c.params).map(([p, vs]) => `${p}=${value(vs)}`).join(', ')})`;
      row.append(code);
    }
    return row;
  }

  /** A row of a card: who, then a text when given. */
  row(name, text) {
    const row = document.createElement('div');
    row.className = `answer-label ${name}`;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = name;
    row.append(who);
    if (text !== undefined) {
      const body = document.createElement('span');
      body.className = 'body';
      body.textContent = text;
      row.append(body);
    }
    return row;
  }

  label(name, l) {
    const row = this.row(name);
    if (name === 'prediction') row.querySelector('.who').textContent = 'answer';
    if (l.type === 'calls') {
      for (const c of l.calls) {
        const code = document.createElement('code');
        code.textContent = this.callText(c);
        row.append(code);
      }
    } else {
      const text = document.createElement('span');
      text.className = 'body';
      text.textContent = l.text || '(empty text)';
      row.append(text);
    }
    return row;
  }
}
