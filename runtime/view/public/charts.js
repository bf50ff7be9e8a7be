// Live charts from 'metric' trace events. Event shapes are read tolerantly: a field
// is recognised by name, anything unrecognised still gets a generic per-role chart.
/* global uPlot */

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
const SVG = 'http://www.w3.org/2000/svg';

const isObj = (x) => x && typeof x === 'object' && !Array.isArray(x);
const isNum = (x) => typeof x === 'number' && Number.isFinite(x);
const pick = (d, keys) => {
  for (const k of keys) if (isNum(d[k])) return d[k];
  return undefined;
};

const REWARD = ['reward', 'reward_mean', 'rewardMean', 'mean_reward', 'meanReward'];
const KL = ['kl', 'kl_mean', 'klMean', 'mean_kl'];
const STEP = ['step', 'global_step', 'globalStep', 'update'];
const ACC = /^(acc|accuracy|.*_acc|.*Acc|.*_accuracy|.*Accuracy|overall)$/;
const X_KEYS = ['step', 'round', 'shot', 'epoch', 'iteration', 'index', 'i', 'n'];
const COMPOSITION_KEYS = ['ES', 'EE', 'HPPL', 'seedNew', 'seed_new', 'Seed-new', 'es', 'ee', 'hppl', 'seed', 'fill'];

/** Sorts a metric event into the chart it feeds. */
export function classifyMetric(e) {
  const d = e.data;
  if (e.kind !== 'metric' || !isObj(d)) return undefined;
  const round = pick(d, ['round', 'j']);
  // A loop stage's summary (runtime/loop/driver.ts): {stage, round, ...counts}.
  if (typeof d.stage === 'string') return stageMetric(d.stage, round ?? 0, d);
  const comp = isObj(d.composition) ? d.composition : isObj(d.mix) ? d.mix : undefined;
  if (comp || COMPOSITION_KEYS.filter((k) => isNum(d[k])).length >= 2) {
    const src = comp ?? Object.fromEntries(COMPOSITION_KEYS.filter((k) => isNum(d[k])).map((k) => [k, d[k]]));
    const parts = Object.fromEntries(Object.entries(src).filter(([, v]) => isNum(v)));
    if (Object.keys(parts).length) return { chart: 'composition', round: round ?? 0, parts };
  }
  const reward = pick(d, REWARD);
  if (reward !== undefined) return { chart: 'grpo', step: pick(d, STEP), reward, kl: pick(d, KL), loss: pick(d, ['loss']) };
  if (round !== undefined) {
    const accs = Object.entries(d).filter(([k, v]) => ACC.test(k) && isNum(v));
    if (accs.length) return { chart: 'accuracy', round, values: Object.fromEntries(accs) };
  }
  const nums = Object.entries(d).filter(([, v]) => isNum(v));
  if (nums.length) return { chart: 'generic', role: e.role, values: Object.fromEntries(nums) };
  return undefined;
}

const PART_LABELS = { seed: 'seed', es: 'ES', ee: 'EE', hppl: 'HPPL', seed_new: 'Seed-new', fill: 'fill' };

function stageMetric(stage, round, d) {
  if (stage === 'evaluating' || stage === 'baseline') {
    const values = Object.fromEntries(['accuracy', 'bfcl'].filter((k) => isNum(d[k])).map((k) => [k, d[k]]));
    return Object.keys(values).length ? { chart: 'accuracy', round, values } : undefined;
  }
  if (stage === 'merging') {
    // merging round j writes D_{j+1}: its bar belongs to the round that trains on it
    const parts = Object.fromEntries(Object.entries(PART_LABELS).filter(([k]) => isNum(d[k])).map(([k, label]) => [label, d[k]]));
    return Object.keys(parts).length ? { chart: 'composition', round: round + 1, parts } : undefined;
  }
  return undefined; // other stage summaries are counts, shown in the message list
}

function width(el) {
  return Math.max(260, Math.floor(el.getBoundingClientRect().width) - 4);
}

// As wide as the longest tick label: uPlot's fixed default width clips "10,000".
const axisSize = (_u, values) => (values ? Math.max(36, 14 + 7 * Math.max(0, ...values.map((v) => String(v).length))) : 36);

/**
 * Which axis each series goes on when a chart's series are not known in advance: one far
 * from the first series in magnitude (a token count beside a loss) gets the right-hand
 * axis, rather than flattening the others to a line at zero.
 */
function splitByMagnitude(cols) {
  const mags = cols.map((c) => Math.max(0, ...c.filter(isNum).map(Math.abs)));
  const base = mags[0] || 1;
  return mags.map((m, i) => (i > 0 && m > 0 && (m / base > 30 || base / m > 30) ? 'y2' : 'y'));
}

/** A uPlot line chart that redraws at most a few times a second. */
class LineChart {
  /** `axes2`: the second series on its own axis; `split`: axes chosen by magnitude. */
  constructor(fig, { series, axes2 = false, split = false, points = false }) {
    this.fig = fig;
    this.plotEl = fig.querySelector('.plot');
    this.names = series;
    this.data = [[], ...series.map(() => [])];
    this.plot = undefined;
    this.axes2 = axes2;
    this.split = split;
    this.scales = [];
    this.points = points;
    this.dirty = false;
  }

  scalesFor(cols) {
    if (this.split) return splitByMagnitude(cols);
    return cols.map((_, i) => (this.axes2 && i === 1 ? 'y2' : 'y'));
  }

  make() {
    const series = [{ label: 'x' }];
    this.names.forEach((n, i) =>
      series.push({ label: n, stroke: COLORS[i % COLORS.length], width: 1.6, scale: this.scales[i], points: { show: this.points, size: 6 }, spanGaps: true }),
    );
    const axes = [{ stroke: '#6b7385', grid: { stroke: '#eef0f4' } }, { stroke: '#6b7385', grid: { stroke: '#eef0f4' }, size: axisSize }];
    const right = this.scales.indexOf('y2');
    if (right >= 0) axes.push({ side: 1, scale: 'y2', stroke: COLORS[right % COLORS.length], grid: { show: false }, size: axisSize });
    this.plot = new uPlot(
      { width: width(this.fig), height: 170, scales: { x: { time: false } }, series, axes, legend: { live: false }, cursor: { drag: { x: false, y: false } } },
      this.data,
      this.plotEl,
    );
    this.fig.classList.add('has-data');
  }

  add(x, values) {
    this.data[0].push(x);
    this.names.forEach((n, i) => this.data[i + 1].push(values[n] ?? null));
    this.dirty = true;
  }

  /** Adds a series the chart has not seen (e.g. a new accuracy name); rebuilds the plot. */
  ensure(names) {
    const missing = names.filter((n) => !this.names.includes(n));
    if (!missing.length) return;
    for (const n of missing) {
      this.names.push(n);
      this.data.push(this.data[0].map(() => null));
    }
    this.plot?.destroy();
    this.plot = undefined;
    this.plotEl.replaceChildren();
    this.dirty = true;
  }

  draw() {
    if (!this.dirty) return;
    this.dirty = false;
    if (this.data[0].length === 0) return;
    // uPlot wants x ascending.
    const order = this.data[0].map((x, i) => [x, i]).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
    const data = this.data.map((col) => order.map((i) => col[i]));
    const scales = this.scalesFor(data.slice(1));
    if (this.plot && scales.join() !== this.scales.join()) {
      this.plot.destroy();
      this.plot = undefined;
      this.plotEl.replaceChildren();
    }
    this.scales = scales;
    if (!this.plot) this.make();
    this.plot.setData(data);
  }

  reset() {
    this.data = [[], ...this.names.map(() => [])];
    this.plot?.destroy();
    this.plot = undefined;
    this.plotEl.replaceChildren();
    this.fig.classList.remove('has-data');
  }
}

/** Stacked bars drawn as SVG: one bar per round, one colour per part of the corpus. */
class CompositionChart {
  constructor(fig) {
    this.fig = fig;
    this.plotEl = fig.querySelector('.plot');
    this.rounds = new Map();
    this.dirty = false;
  }

  set(round, parts) {
    this.rounds.set(round, parts);
    this.dirty = true;
  }

  draw() {
    if (!this.dirty) return;
    this.dirty = false;
    const rounds = [...this.rounds.keys()].sort((a, b) => a - b);
    if (!rounds.length) return;
    const keys = [...new Set(rounds.flatMap((r) => Object.keys(this.rounds.get(r))))];
    const max = Math.max(...rounds.map((r) => Object.values(this.rounds.get(r)).reduce((a, b) => a + b, 0)), 1);
    const w = width(this.fig);
    const h = 150;
    const bw = Math.min(60, (w - 40) / rounds.length - 12);
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'bars');
    svg.setAttribute('width', w);
    svg.setAttribute('height', h + 20);
    rounds.forEach((r, i) => {
      let y = h;
      const x = 36 + i * (bw + 12);
      keys.forEach((k, ki) => {
        const v = this.rounds.get(r)[k] ?? 0;
        if (v <= 0) return;
        const bh = (v / max) * (h - 14);
        y -= bh;
        const rect = document.createElementNS(SVG, 'rect');
        Object.entries({ x, y, width: bw, height: Math.max(0, bh), fill: COLORS[ki % COLORS.length] }).forEach(([a, b]) => rect.setAttribute(a, b));
        const title = document.createElementNS(SVG, 'title');
        title.textContent = `round ${r} ${k}: ${v}`;
        rect.append(title);
        svg.append(rect);
      });
      const label = document.createElementNS(SVG, 'text');
      label.setAttribute('x', x + bw / 2 - 8);
      label.setAttribute('y', h + 14);
      label.textContent = `r${r}`;
      svg.append(label);
      const total = document.createElementNS(SVG, 'text');
      total.setAttribute('x', x);
      total.setAttribute('y', y - 3);
      total.textContent = String(Object.values(this.rounds.get(r)).reduce((a, b) => a + b, 0));
      svg.append(total);
    });
    const legend = document.createElement('div');
    legend.className = 'legend';
    keys.forEach((k, ki) => {
      const s = document.createElement('span');
      const i = document.createElement('i');
      i.style.background = COLORS[ki % COLORS.length];
      s.append(i, k);
      legend.append(s);
    });
    this.plotEl.replaceChildren(svg, legend);
    this.fig.classList.add('has-data');
  }

  reset() {
    this.rounds.clear();
    this.plotEl.replaceChildren();
    this.fig.classList.remove('has-data');
  }
}

export class Charts {
  constructor(root, otherRoot) {
    this.grpo = new LineChart(root.querySelector('#chart-grpo'), { series: ['reward', 'kl'], axes2: true });
    this.accuracy = new LineChart(root.querySelector('#chart-accuracy'), { series: [], points: true });
    this.composition = new CompositionChart(root.querySelector('#chart-composition'));
    this.otherRoot = otherRoot;
    this.generic = new Map();
    this.grpoCount = 0;
    this.timer = setInterval(() => this.draw(), 250);
  }

  feed(e) {
    const c = classifyMetric(e);
    if (!c) return false;
    if (c.chart === 'grpo') {
      // Steps are numbered in arrival order: a trainer may restart its own count every round.
      this.grpo.add(++this.grpoCount, c);
    } else if (c.chart === 'accuracy') {
      this.accuracy.ensure(Object.keys(c.values));
      this.accuracy.add(c.round, c.values);
    } else if (c.chart === 'composition') {
      this.composition.set(c.round, c.parts);
    } else {
      this.genericChart(c.role, Object.keys(c.values)).feed(c.values);
    }
    return true;
  }

  genericChart(role, keys) {
    let g = this.generic.get(role);
    if (!g) {
      const fig = document.createElement('figure');
      fig.className = 'chart generic';
      fig.dataset.role = role;
      const cap = document.createElement('figcaption');
      cap.textContent = `${role} metrics`;
      const plot = document.createElement('div');
      plot.className = 'plot';
      fig.append(cap, plot);
      this.otherRoot.append(fig);
      const xKey = X_KEYS.find((k) => keys.includes(k));
      const chart = new LineChart(fig, { series: keys.filter((k) => k !== xKey).slice(0, 6), split: true });
      let n = 0;
      g = {
        chart,
        feed: (values) => {
          const extra = Object.keys(values).filter((k) => k !== xKey && !chart.names.includes(k));
          if (extra.length && chart.names.length < 6) chart.ensure(extra.slice(0, 6 - chart.names.length));
          chart.add(xKey && isNum(values[xKey]) ? values[xKey] : ++n, values);
        },
      };
      this.generic.set(role, g);
    }
    return g;
  }

  draw() {
    this.grpo.draw();
    this.accuracy.draw();
    this.composition.draw();
    for (const g of this.generic.values()) g.chart.draw();
  }

  reset() {
    this.grpo.reset();
    this.accuracy.reset();
    this.accuracy.names = [];
    this.accuracy.data = [[]];
    this.composition.reset();
    this.grpoCount = 0;
    for (const g of this.generic.values()) {
      g.chart.plot?.destroy();
      g.chart.fig.remove();
    }
    this.generic.clear();
  }
}
