// looptool view: the page. Three server-sent-event streams from /api/events:
// the dashboard (state, metric and progress events: loop diagram and charts), the
// message list (with the filters of the form), and the open dialogue's transcript;
// /api/report for the run's own per-round records (what report.md shows); /api/answers
// for a round's answers when a chart point is clicked.
import { LoopDiagram } from './loop.js';
import { AnswersPanel, answersAsk } from './answers.js';
import { Charts } from './charts.js';
import { openStream } from './stream.js';
import { MessageList } from './msglist.js';

const $ = (s) => document.querySelector(s);
const TAIL = 1500;
const KINDS = ['request', 'reply', 'error', 'state', 'metric', 'progress', 'message', 'log', 'retry'];
const SPEAKERS = ['user', 'assistant', 'tool', 'judge'];
const FIXED_COLORS = { user: '#2563eb', assistant: '#16a34a', tool: '#ea580c', planner: '#9333ea', judge: '#dc2626', critic: '#0891b2', loop: '#b45309', trainer: '#db2777', client: '#6b7280' };

export function roleColor(role) {
  if (FIXED_COLORS[role]) return FIXED_COLORS[role];
  let h = 0;
  for (let i = 0; i < role.length; i++) h = (h * 31 + role.charCodeAt(i)) >>> 0;
  // Golden-angle steps spread similar names (ping, pong) far apart on the colour wheel.
  return `hsl(${Math.round((h % 97) * 137.508) % 360}, 65%, 40%)`;
}

const page = {
  run: undefined,
  label: undefined,
  live: false,
  ended: undefined,
  replay: undefined,
  mode: 'protocol',
  streams: { dash: undefined, msgs: undefined, dialogue: undefined },
  dialogue: undefined,
  synced: { dash: false, msgs: false },
};

function setStatus(s, text) {
  const el = $('#status');
  el.dataset.status = s;
  el.textContent = text ?? s;
  el.title = text ?? s;
}

/** The run is over: said once on the badge, whatever told us first (a stream or /api/info). */
function setEnded(ended) {
  if (!ended || page.ended) return;
  page.ended = ended;
  page.live = false;
  setStatus(ended.status, ended.status === 'failed' ? `failed: ${ended.reason ?? 'no reason given'}` : 'finished');
  document.body.dataset.ended = ended.status;
  void refreshInfo();
  void refreshReport();
}

function lostConnection(f) {
  if (page.ended) return;
  setStatus('disconnected', `connection lost; retrying in ${Math.round(f.retryIn / 1000)} s`);
}

function closeStream(name) {
  page.streams[name]?.close();
  page.streams[name] = undefined;
}

// ---------- summaries of events ----------

function chatOf(e) {
  const d = e.data;
  if (!d || typeof d !== 'object') return undefined;
  const m = d.message && typeof d.message === 'object' ? d.message : d;
  if (typeof m.role !== 'string' || !['user', 'assistant', 'tool', 'system'].includes(m.role)) return undefined;
  if (m.content === undefined && !Array.isArray(m.tool_calls) && !Array.isArray(m.calls)) return undefined;
  return m;
}

/** A dialogue's verdict (the seeding driver's progress event): the judge's line in a conversation. */
function verdictOf(e) {
  const d = e.data;
  if (e.role !== 'dialogue' || e.kind !== 'progress' || !d || typeof d.status !== 'string') return undefined;
  return { role: 'judge', content: `${d.status}${d.reason ? ` (${d.reason})` : ''}${typeof d.samples === 'number' ? ` · ${d.samples} samples` : ''}` };
}

function callText(c) {
  const f = c.function ?? c;
  let args = f.arguments;
  if (typeof args !== 'string') args = JSON.stringify(args ?? {});
  return `${f.name}(${args})`;
}

function chatText(chat) {
  const calls = chat.tool_calls ?? chat.calls;
  const text = typeof chat.content === 'string' ? chat.content : chat.content == null ? '' : JSON.stringify(chat.content);
  return `${text}${Array.isArray(calls) && calls.length ? `${text ? ' ' : ''}${calls.map(callText).join(' ')}` : ''}`;
}

function summary(e) {
  const chat = chatOf(e);
  if (chat) return `${chat.role}: ${chatText(chat)}`;
  if (e.data === undefined) return e.msg ? `#${e.msg.slice(-8)}` : '';
  const s = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
  return s.length > 300 ? `${s.slice(0, 297)}...` : s;
}

function dialogueOf(e) {
  const d = e.data;
  const explicit = d && typeof d === 'object' ? (d.dialogue ?? d.dialogueId) : undefined;
  return typeof explicit === 'string' ? explicit : e.trace;
}

const time = (ts) => new Date(ts).toISOString().slice(11, 23);

// ---------- message list ----------

function cellsRow(e, cls, role, cells) {
  const row = document.createElement('div');
  row.className = cls;
  row.dataset.role = role;
  row.dataset.kind = e.kind;
  const d = dialogueOf(e);
  if (d) row.dataset.dialogue = d;
  row.style.setProperty('--c', roleColor(role));
  for (const [c, text] of cells) {
    const span = document.createElement('span');
    span.className = c;
    span.textContent = text;
    if (c === 'd') span.title = text;
    row.append(span);
  }
  return row;
}

/** The protocol view: every trace event as the bus saw it. */
function protocolRow(e) {
  return cellsRow(e, `msg k-${e.kind}`, e.role, [
    ['t', time(e.ts)],
    ['r', e.role],
    ['k', e.kind],
    ['v', e.verb ?? ''],
    ['d', summary(e)],
  ]);
}

/** The conversation view: who said what in which dialogue. */
function conversationRow(e) {
  const chat = chatOf(e) ?? verdictOf(e) ?? { role: e.role, content: summary(e) };
  const row = cellsRow(e, `msg conv k-${e.kind}`, chat.role, [
    ['t', time(e.ts)],
    ['r', chat.role],
    ['v', (dialogueOf(e) ?? '').slice(-13)],
    ['d', chatText(chat)],
  ]);
  row.dataset.speaker = chat.role;
  return row;
}

let list;

function messageFilters() {
  return {
    run: page.run,
    role: $('#f-role').value,
    kind: page.mode === 'conversation' ? '' : $('#f-kind').value,
    dialogue: $('#f-dialogue').value.trim(),
    slots: $('#f-slots').checked ? '1' : '0',
    conversation: page.mode === 'conversation' ? '1' : '0',
  };
}

async function olderMessages(oldest) {
  const qs = new URLSearchParams(Object.entries({ ...messageFilters(), before: String(oldest.ts), beforeId: oldest.id, limit: '500' }).filter(([, v]) => v !== ''));
  const res = await fetch(`/api/older?${qs}`);
  if (!res.ok) throw new Error(`older messages: HTTP ${res.status}`);
  return res.json();
}

function startMessages() {
  closeStream('msgs');
  list.row = page.mode === 'conversation' ? conversationRow : protocolRow;
  list.clear();
  document.body.dataset.mode = page.mode;
  $('#f-kind').disabled = page.mode === 'conversation';
  fillRoles();
  page.synced.msgs = false;
  document.body.dataset.msgsSynced = '0';
  page.streams.msgs = openStream(
    { ...messageFilters(), follow: $('#f-follow').checked ? '1' : '0', tail: page.replay ? undefined : String(TAIL), replay: page.replay },
    {
      events: (evs) => list.add(evs),
      synced: (s) => {
        page.synced.msgs = true;
        list.more = s.dropped > 0;
        list.schedule();
        document.body.dataset.msgsSynced = '1';
      },
      end: (m) => setEnded(m.ended),
      lost: lostConnection,
    },
  );
}

// ---------- dialogue transcript ----------

function bubble(e, chat) {
  const b = document.createElement('div');
  const color = roleColor(chat.role);
  b.className = `bubble role-${chat.role}${e.kind === 'error' || chat.error ? ' error' : ''}`;
  b.style.setProperty('--c', color);
  const who = document.createElement('div');
  who.className = 'who';
  who.textContent = chat.role + (chat.name ? ` · ${chat.name}` : '');
  if (e.role !== chat.role && e.role !== 'dialogue') {
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent = `via ${e.role}`;
    who.append(tag);
  }
  b.append(who);
  const text = typeof chat.content === 'string' ? chat.content : chat.content == null ? '' : JSON.stringify(chat.content);
  if (text) {
    const body = document.createElement('div');
    body.className = 'body';
    body.textContent = text;
    b.append(body);
  }
  for (const c of chat.tool_calls ?? chat.calls ?? []) {
    const code = document.createElement('code');
    code.textContent = callText(c);
    b.append(code);
  }
  return b;
}

function transcriptItem(e) {
  const chat = chatOf(e) ?? verdictOf(e);
  if (chat) return bubble(e, chat);
  const line = document.createElement('div');
  line.className = 'tline';
  line.style.setProperty('--c', roleColor(e.role));
  line.textContent = `${time(e.ts)} ${e.role} ${e.kind}${e.verb ? ` ${e.verb}` : ''} ${summary(e)}`;
  return line;
}

function openDialogue(id) {
  if (!id || id === page.dialogue) return;
  page.dialogue = id;
  closeStream('dialogue');
  const box = $('#transcript');
  box.replaceChildren();
  box.dataset.dialogue = id;
  $('#transcript-id').textContent = id;
  let items = [];
  let frame = 0;
  const render = () => {
    frame = 0;
    items.sort((a, b) => a.ts - b.ts);
    box.replaceChildren(...items.map(transcriptItem));
    box.scrollTop = box.scrollHeight;
  };
  // A conversation needs only the dialogue's own messages: a far smaller read than its whole trace.
  page.streams.dialogue = openStream(
    { run: page.run, dialogue: id, slots: '0', follow: page.live ? '1' : '0', tail: '5000', conversation: page.mode === 'conversation' ? '1' : '0' },
    {
      events: (evs) => {
        items = items.concat(evs.filter((e) => e.kind !== 'state'));
        if (!frame) frame = requestAnimationFrame(render);
      },
    },
  );
}

// ---------- dashboard: loop diagram and charts ----------

let loop;
let charts;
let answers;

function startDashboard() {
  closeStream('dash');
  loop.reset();
  charts.reset();
  page.synced.dash = false;
  document.body.dataset.dashSynced = '0';
  page.streams.dash = openStream(
    { run: page.run, kind: 'state,metric,progress', slots: '0', follow: '1', replay: page.replay },
    {
      events: (evs) => {
        let stage = false;
        for (const e of evs) {
          if (e.kind === 'metric') {
            charts.feed(e);
            if (e.role === 'loop') stage = true;
          } else {
            loop.feed(e);
            if (e.kind === 'state') charts.feedState(e);
          }
        }
        // a finished stage may have written a round's records: the report charts follow them
        if (stage) void refreshReport();
      },
      synced: (s) => {
        page.synced.dash = true;
        document.body.dataset.dashSynced = '1';
        if (page.ended) return;
        if (page.replay) setStatus('finished', 'replayed');
        else if (s.live) setStatus('live');
        else setStatus('finished', 'finished run');
      },
      end: (m) => {
        if (m.ended) setEnded(m.ended);
        else if (!page.live && !page.replay && !page.ended) setStatus('finished', 'finished run');
      },
      lost: lostConnection,
    },
  );
}

async function refreshReport() {
  try {
    const res = await fetch(`/api/report?${new URLSearchParams(page.run ? { run: page.run } : {})}`);
    if (res.ok) charts.setReport(await res.json());
  } catch {
    // the badge shows a lost connection; the next stage retries
  }
}

// ---------- run selection, info ----------

function newestRun(runs) {
  return Object.keys(runs).sort().at(-1);
}

function fillSelect(sel, values, labels = {}) {
  const keep = sel.value;
  const opts = [['', 'all'], ...values.map((v) => [v, labels[v] ?? v])];
  sel.replaceChildren(
    ...opts.map(([v, label]) => {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = label;
      return o;
    }),
  );
  sel.value = values.includes(keep) ? keep : '';
}

/** Roles as a person means them: in a conversation, who spoke; in the protocol view, the bus roles too. */
function fillRoles() {
  const cur = page.info?.runs?.[page.run] ?? { roles: {}, kinds: {} };
  if (page.mode === 'conversation') return fillSelect($('#f-role'), SPEAKERS);
  const roles = Object.keys(cur.roles).sort();
  const speakers = cur.roles.dialogue ? SPEAKERS.filter((r) => !roles.includes(r)) : [];
  fillSelect($('#f-role'), [...roles, ...speakers], Object.fromEntries(speakers.map((r) => [r, `${r} (said)`])));
}

async function refreshInfo(first = false) {
  let info;
  try {
    info = await (await fetch('/api/info')).json();
  } catch {
    if (!page.ended) setStatus('disconnected', 'viewer unreachable; retrying');
    return;
  }
  page.info = info;
  // The viewer moved on to the run that took over (a demo's next variant): a page opened
  // on "the live run" follows it.
  if (!first && !page.asked && info.live && info.run && info.run !== page.run) return location.reload();
  if (first) {
    page.live = info.live;
    page.bootLive = info.live;
    const asked = new URLSearchParams(location.search).get('run');
    page.asked = asked;
    // a run may be asked for by its folder (`<demo id>/full`): the page reads it by its id on the bus
    page.run = (asked && asked === info.label ? info.run : asked) ?? info.run ?? newestRun(info.runs);
    page.label = asked ? asked : info.label ?? page.run;
    if (info.runs[page.run]?.roles?.dialogue) page.mode = 'conversation';
    $('#f-mode').value = page.mode;
  }
  // A live run talks only after its tools are designed: the conversation view comes with its first dialogue.
  if (!first && !page.modeChosen && page.mode === 'protocol' && info.runs[page.run]?.roles?.dialogue) {
    page.mode = 'conversation';
    $('#f-mode').value = page.mode;
    startMessages();
  }
  if (info.ended) setEnded(info.ended);
  else if (info.live && info.connection === 'lost') {
    page.connLost = true;
    setStatus('disconnected', 'bus connection lost; retrying');
  } else if (page.connLost && info.connection === 'ok') {
    // the viewer has its bus back: streams reopen from the stream (seen events are skipped)
    page.connLost = false;
    setStatus('connecting', 'reconnected');
    startDashboard();
    startMessages();
  }
  const runs = Object.keys(info.runs).sort().reverse();
  if (page.run && !runs.includes(page.run)) runs.unshift(page.run);
  const rs = $('#run-select');
  rs.replaceChildren(
    ...runs.map((r) => {
      const o = document.createElement('option');
      o.value = r;
      o.textContent = r === info.run && info.label && info.label !== r ? `${info.label} (${r})` : r;
      return o;
    }),
  );
  if (page.run) rs.value = page.run;
  document.body.dataset.run = page.run ?? '';
  const cur = info.runs[page.run] ?? { roles: {}, kinds: {}, events: 0 };
  if (!first) fillRoles();
  fillSelect($('#f-kind'), KINDS.filter((k) => cur.kinds[k] !== undefined));
  $('#counts').textContent = `${Object.keys(cur.roles).length} roles · ${cur.events} trace batches stored`;
  $('#replay-controls').hidden = info.live;
}

function restart() {
  answers.reset();
  page.dialogue = undefined;
  closeStream('dialogue');
  $('#transcript').replaceChildren();
  startDashboard();
  startMessages();
  void refreshReport();
}

async function boot() {
  const stages = await fetch('/api/loop-stages').then((r) => r.json());
  loop = new LoopDiagram($('#loop-diagram'), stages, (state, round, detail) => {
    $('#loop-round').textContent = round !== undefined ? `round ${round}` : '';
    $('#loop-state-text').textContent = state ? `· ${detail ?? state}` : '· waiting for the loop';
  });
  loop.reset();
  charts = new Charts($('#charts-panel'), $('#charts-panel .charts'));
  list = new MessageList($('#msg-list'), { row: protocolRow, onOlder: olderMessages });
  answers = new AnswersPanel($('#answers-panel'), { bubble: (chat) => bubble({ role: 'dialogue', kind: 'message' }, chat), callText, run: () => page.run });
  list.onRender = (n) => ($('#msg-count').textContent = `${n} shown${list.more ? ' · scroll up for older' : ''}`);
  await refreshInfo(true);
  if (!page.ended) setStatus(page.live ? 'connecting' : 'finished', page.live ? 'connecting' : 'finished run');
  restart();
  const poll = () => setTimeout(async () => {
    await refreshInfo();
    poll();
  }, page.live || page.bootLive ? 3000 : 30000);
  poll();

  $('#run-select').addEventListener('change', (ev) => {
    page.run = ev.target.value;
    page.asked = page.run;
    history.replaceState(null, '', `?run=${encodeURIComponent(page.run)}`);
    restart();
  });
  $('#f-mode').addEventListener('change', (ev) => {
    page.mode = ev.target.value;
    page.modeChosen = true;
    $('#f-role').value = '';
    startMessages();
  });
  for (const id of ['#f-role', '#f-kind', '#f-slots', '#f-follow']) $(id).addEventListener('change', startMessages);
  let typing;
  $('#f-dialogue').addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(startMessages, 300);
  });
  $('#f-clear').addEventListener('click', () => {
    $('#f-role').value = '';
    $('#f-kind').value = '';
    $('#f-dialogue').value = '';
    startMessages();
  });
  $('#msg-older').addEventListener('click', () => void list.older());
  $('#charts-panel').addEventListener('click', (ev) => {
    const dot = ev.target.closest('circle.point');
    const chart = { 'chart-kinds': 'kinds', 'chart-accuracy': 'accuracy' }[dot?.closest('figure')?.id];
    if (!chart) return;
    const current = charts.accuracy.series.find((s) => s.current)?.name;
    const ask = answersAsk(chart, dot.dataset.series, Number(dot.dataset.round), current);
    if (ask) void answers.open(ask);
  });
  $('#msg-list').addEventListener('click', (ev) => {
    const row = ev.target.closest('.msg');
    if (row?.dataset.dialogue) openDialogue(row.dataset.dialogue);
  });
  $('#replay-btn').addEventListener('click', () => {
    page.replay = $('#replay-speed').value;
    setStatus('replaying', `replaying ${page.replay}×`);
    restart();
  });
}

boot();
