// The loop machine (machines/loop.ts) drawn as SVG: the stages before the first round
// (seeding, warm-up, the baseline evaluation), then one box per stage of a round with an
// arrow back for the next round, then done (or failed). The current state is lit. The
// stages come from the view server (GET /api/loop-stages), which reads the loop's own list.

/** Every state of the loop machine, in order: the stages, then its two end states. */
export function loopStates(stages) {
  return [...stages.prelude, ...stages.round, 'done', 'failed'];
}

const SVG = 'http://www.w3.org/2000/svg';
const W = 96;
const H = 46;
const Y = 56;
const STEP = 116;

function el(name, attrs = {}, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function positions(stages) {
  const pos = {};
  [...stages.prelude, ...stages.round].forEach((s, i) => (pos[s] = 8 + i * STEP + (i >= stages.prelude.length ? 16 : 0)));
  pos.done = pos[stages.round.at(-1)] + STEP + 24;
  pos.failed = pos.done;
  return pos;
}
const rowOf = (s) => (s === 'failed' ? Y + H + 22 : Y);

/**
 * Reads a loop state out of a trace event, tolerating the shapes a state machine may
 * publish: {to}, {state}, {value} (a string, or XState's nested object) and dotted
 * paths like "training.grpo". Returns undefined for anything else (slot states, roles).
 */
export function loopStateOf(e, states) {
  if (e.kind !== 'state' || !e.data || typeof e.data !== 'object') return undefined;
  let v = e.data.to ?? e.data.state ?? e.data.value ?? e.data.stage;
  while (v && typeof v === 'object') v = Object.keys(v)[0];
  if (typeof v !== 'string') return undefined;
  const head = v.split(/[./]/)[0].toLowerCase();
  if (states.includes(head)) return { state: head, detail: v, round: num(e.data.round ?? e.data.context?.round) };
  if (/loop/i.test(e.role)) return { state: head, detail: v, round: num(e.data.round), unknown: true };
  return undefined;
}

function num(x) {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

export class LoopDiagram {
  constructor(container, stages, onText) {
    this.onText = onText;
    this.states = loopStates(stages);
    this.first = stages.round[0];
    this.last = stages.round.at(-1);
    this.nodes = {};
    this.notes = {};
    const pos = positions(stages);
    const width = pos.done + W + 8;
    const svg = el('svg', { viewBox: `0 ${Y - 24} ${width} 140`, id: 'loop-svg', role: 'img', 'aria-label': 'loop state machine' });
    const defs = el('defs');
    const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.append(el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#9ca3af' }));
    defs.append(marker);
    svg.append(defs);
    const order = this.states.filter((s) => s !== 'failed');
    for (let i = 0; i + 1 < order.length; i++) {
      const a = order[i];
      const b = order[i + 1];
      svg.append(el('path', { class: 'edge', d: `M${pos[a] + W},${Y + H / 2} L${pos[b] - 2},${Y + H / 2}` }));
    }
    // next round: the round's last stage back to its first, under the row
    const from = pos[this.last] + W / 2;
    const to = pos[this.first] + W / 2;
    svg.append(el('path', { class: 'edge', d: `M${from},${Y + H} C${from},${Y + H + 42} ${to},${Y + H + 42} ${to},${Y + H + 3}` }));
    svg.append(el('text', { class: 'edge-label', x: (from + to) / 2, y: Y + H + 40 }, 'next round'));
    svg.append(el('text', { class: 'edge-label', x: pos.done - 12, y: Y - 6 }, 'last round'));
    svg.append(el('text', { class: 'edge-label', x: to, y: Y - 6 }, 'round j'));
    for (const s of this.states) {
      const g = el('g', { class: `node${s === 'failed' ? ' failed' : ''}`, 'data-state': s, transform: `translate(${pos[s]},${rowOf(s)})` });
      g.append(el('rect', { width: W, height: H, rx: 8 }));
      g.append(el('text', { x: W / 2, y: H / 2 - 5 }, s));
      const note = el('text', { class: 'note', x: W / 2, y: H / 2 + 11 }, '');
      g.append(note);
      svg.append(g);
      this.nodes[s] = g;
      this.notes[s] = note;
    }
    container.replaceChildren(svg);
    this.svg = svg;
    this.current = undefined;
    this.round = undefined;
    this.visited = new Set();
  }

  reset() {
    this.current = undefined;
    this.round = undefined;
    this.visited.clear();
    for (const s of this.states) this.notes[s].textContent = '';
    this.paint();
  }

  /** Feeds one trace event; returns true when it moved the diagram. */
  feed(e) {
    if (e.kind === 'progress') return this.progress(e);
    const s = loopStateOf(e, this.states);
    if (!s) return false;
    if (s.round !== undefined && s.round !== this.round) {
      this.round = s.round;
      this.visited.clear();
    }
    if (this.current && this.current !== s.state) this.visited.add(this.current);
    if (s.state === this.first && this.current === this.last) this.visited.clear();
    this.current = s.state;
    this.detail = s.detail;
    this.paint();
    return true;
  }

  progress(e) {
    const d = e.data;
    if (!d || typeof d !== 'object') return false;
    const stage = typeof d.stage === 'string' ? d.stage.split(/[./]/)[0] : this.current;
    if (!stage || !this.notes[stage]) return false;
    const done = d.done ?? d.finished ?? d.n ?? d.completed;
    const total = d.total ?? d.of;
    if (typeof done !== 'number') return false;
    this.notes[stage].textContent = typeof total === 'number' ? `${done}/${total}` : String(done);
    return true;
  }

  paint() {
    for (const s of this.states) {
      const g = this.nodes[s];
      g.classList.toggle('active', s === this.current);
      g.classList.toggle('visited', this.visited.has(s) && s !== this.current);
    }
    this.svg.dataset.current = this.current ?? '';
    this.onText?.(this.current, this.round, this.detail);
  }
}
