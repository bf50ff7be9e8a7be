// looptool view: the page. Three server-sent-event streams from /api/events:
// the dashboard (state, metric and progress events: loop diagram and charts), the
// message list (with the filters of the form), and the open dialogue's transcript.
import { LoopDiagram } from './loop.js';
import { Charts } from './charts.js';

const $ = (s) => document.querySelector(s);
const MAX_ROWS = 1500;
const KINDS = ['request', 'reply', 'error', 'state', 'metric', 'progress', 'message', 'log', 'retry'];
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
  live: false,
  replay: undefined,
  streams: { dash: undefined, msgs: undefined, dialogue: undefined },
  dialogue: undefined,
  counts: { msgs: 0, dash: 0 },
  synced: { dash: false, msgs: false },
};

function setStatus(s, text) {
  const el = $('#status');
  el.dataset.status = s;
  el.textContent = text ?? s;
}

/** Opens one SSE stream; events are de-duplicated by id (a reconnect re-sends what was stored). */
function openStream(params, handlers) {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== ''));
  const es = new EventSource(`/api/events?${qs}`);
  const seen = new Set();
  es.addEventListener('events', (m) => {
    const fresh = JSON.parse(m.data).filter((e) => !seen.has(e.id) && seen.add(e.id));
    if (fresh.length) handlers.events(fresh);
  });
  es.addEventListener('synced', (m) => handlers.synced?.(JSON.parse(m.data)));
  es.addEventListener('end', () => {
    es.close();
    handlers.end?.();
  });
  es.addEventListener('failure', (m) => handlers.failure?.(JSON.parse(m.data)));
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) handlers.failure?.({ message: 'connection closed' });
    else handlers.reconnecting?.();
  };
  return es;
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

function callText(c) {
  const f = c.function ?? c;
  let args = f.arguments;
  if (typeof args !== 'string') args = JSON.stringify(args ?? {});
  return `${f.name}(${args})`;
}

function summary(e) {
  const chat = chatOf(e);
  if (chat) {
    const calls = chat.tool_calls ?? chat.calls;
    const text = typeof chat.content === 'string' ? chat.content : chat.content == null ? '' : JSON.stringify(chat.content);
    return `${chat.role}: ${text}${Array.isArray(calls) && calls.length ? ` ${calls.map(callText).join(' ')}` : ''}`;
  }
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

function messageRow(e) {
  const row = document.createElement('div');
  row.className = `msg k-${e.kind}`;
  row.dataset.role = e.role;
  row.dataset.kind = e.kind;
  const d = dialogueOf(e);
  if (d) row.dataset.dialogue = d;
  row.style.setProperty('--c', roleColor(e.role));
  const cells = [
    ['t', time(e.ts)],
    ['r', e.role],
    ['k', e.kind],
    ['v', e.verb ?? ''],
    ['d', summary(e)],
  ];
  for (const [cls, text] of cells) {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = text;
    if (cls === 'd') span.title = text;
    row.append(span);
  }
  return row;
}

function addMessages(events) {
  const list = $('#msg-list');
  const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 30;
  const frag = document.createDocumentFragment();
  for (const e of events) frag.append(messageRow(e));
  list.append(frag);
  while (list.childElementCount > MAX_ROWS) list.firstElementChild.remove();
  page.counts.msgs += events.length;
  $('#msg-count').textContent = `${page.counts.msgs} shown${page.counts.msgs > MAX_ROWS ? ` (last ${MAX_ROWS} kept)` : ''}`;
  if (stick) list.scrollTop = list.scrollHeight;
}

function startMessages() {
  closeStream('msgs');
  $('#msg-list').replaceChildren();
  page.counts.msgs = 0;
  page.synced.msgs = false;
  const follow = $('#f-follow').checked;
  page.streams.msgs = openStream(
    {
      run: page.run,
      role: $('#f-role').value,
      kind: $('#f-kind').value,
      dialogue: $('#f-dialogue').value.trim(),
      slots: $('#f-slots').checked ? '1' : '0',
      follow: follow ? '1' : '0',
      tail: page.replay ? undefined : String(MAX_ROWS),
      replay: page.replay,
    },
    {
      events: addMessages,
      synced: () => {
        page.synced.msgs = true;
        document.body.dataset.msgsSynced = '1';
      },
      failure: (f) => setStatus('disconnected', `error: ${f.message}`),
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
  const chat = chatOf(e);
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
  const render = () => {
    items.sort((a, b) => a.ts - b.ts);
    box.replaceChildren(...items.map(transcriptItem));
    box.scrollTop = box.scrollHeight;
  };
  page.streams.dialogue = openStream(
    { run: page.run, dialogue: id, slots: '0', follow: page.live ? '1' : '0', tail: '5000' },
    {
      events: (evs) => {
        items = items.concat(evs.filter((e) => e.kind !== 'state'));
        render();
      },
    },
  );
}

// ---------- dashboard: loop diagram and charts ----------

let loop;
let charts;

function startDashboard() {
  closeStream('dash');
  loop.reset();
  charts.reset();
  page.counts.dash = 0;
  page.synced.dash = false;
  document.body.dataset.dashSynced = '0';
  page.streams.dash = openStream(
    { run: page.run, kind: 'state,metric,progress', slots: '0', follow: '1', replay: page.replay },
    {
      events: (evs) => {
        for (const e of evs) {
          if (e.kind === 'metric') charts.feed(e);
          else loop.feed(e);
        }
        page.counts.dash += evs.length;
      },
      synced: (s) => {
        page.synced.dash = true;
        document.body.dataset.dashSynced = '1';
        if (page.replay) setStatus('finished', 'replayed');
        else if (s.live) setStatus('live');
        else setStatus('finished', 'finished run');
      },
      end: () => {
        if (!page.live && !page.replay) setStatus('finished', 'finished run');
      },
      reconnecting: () => setStatus('connecting', 'reconnecting…'),
      failure: (f) => setStatus('disconnected', `error: ${f.message}`),
    },
  );
}

// ---------- run selection, info ----------

function newestRun(runs) {
  return Object.keys(runs).sort().at(-1);
}

function fillSelect(sel, values, counts) {
  const keep = sel.value;
  const opts = [['', 'all'], ...values.map((v) => [v, counts && counts[v] !== undefined ? `${v} (${counts[v]})` : v])];
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

async function refreshInfo(first = false) {
  let info;
  try {
    info = await (await fetch('/api/info')).json();
  } catch {
    setStatus('disconnected');
    return;
  }
  page.info = info;
  if (first) {
    page.live = info.live;
    const asked = new URLSearchParams(location.search).get('run');
    page.run = asked ?? info.run ?? newestRun(info.runs);
  }
  const runs = Object.keys(info.runs).sort().reverse();
  if (page.run && !runs.includes(page.run)) runs.unshift(page.run);
  const rs = $('#run-select');
  rs.replaceChildren(
    ...runs.map((r) => {
      const o = document.createElement('option');
      o.value = r;
      o.textContent = r;
      return o;
    }),
  );
  if (page.run) rs.value = page.run;
  const cur = info.runs[page.run] ?? { roles: {}, kinds: {}, events: 0 };
  fillSelect($('#f-role'), Object.keys(cur.roles).sort());
  fillSelect($('#f-kind'), KINDS.filter((k) => cur.kinds[k] !== undefined));
  $('#counts').textContent = `${Object.keys(cur.roles).length} roles · ${cur.events} trace batches stored`;
  $('#replay-controls').hidden = info.live;
}

function restart() {
  page.dialogue = undefined;
  closeStream('dialogue');
  $('#transcript').replaceChildren();
  startDashboard();
  startMessages();
}

async function boot() {
  loop = new LoopDiagram($('#loop-diagram'), (state, round, detail) => {
    $('#loop-round').textContent = round !== undefined ? `round ${round}` : '';
    $('#loop-state-text').textContent = state ? `· ${detail ?? state}` : '· waiting for the loop';
  });
  loop.reset();
  charts = new Charts($('#charts-panel'), $('#charts-panel .charts'));
  await refreshInfo(true);
  setStatus(page.live ? 'connecting' : 'finished', page.live ? 'connecting' : 'finished run');
  restart();
  setInterval(() => void refreshInfo(), page.live ? 3000 : 30000);

  $('#run-select').addEventListener('change', (ev) => {
    page.run = ev.target.value;
    history.replaceState(null, '', `?run=${encodeURIComponent(page.run)}`);
    restart();
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
