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
    const values = Object.fromEntries(['accuracy', 'bfcl', 'n'].filter((k) => isNum(d[k])).map((k) => [k, d[k]]));
    return Object.keys(values).length ? { chart: 'accuracy', round, values } : undefined;
  }
  if (stage === 'merging') {
    // merging round j writes D_{j+1}: its bar belongs to the round that trains on it
    const parts = Object.fromEntries(Object.entries(PART_LABELS).filter(([k]) => isNum(d[k])).map(([k, label]) => [label, d[k]]));
    return Object.keys(parts).length ? { chart: 'composition', round: round + 1, parts } : undefined;
  }
  return undefined; // other stage summaries are counts, shown in the message list
}

/**
 * A tick or value label that stays true for tiny and huge numbers: a KL of −1.6e-10
 * reads "-1.6e-10", not "-0"; three significant digits otherwise; never "-0".
 */
export function fmtNum(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  if (v === 0 || Object.is(v, -0)) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return v.toExponential(1).replace('e+', 'e');
  if (a >= 1000) return String(Math.round(v));
  const s = Number(v.toPrecision(3)).toString();
  return s === '-0' ? '0' : s;
}

/** Tick labels for one axis: as few digits as tell the ticks apart. */
function fmtTicks(_u, splits) {
  if (!splits) return [];
  const labels = splits.map(fmtNum);
  // ticks closer together than 3 digits can show (e.g. 1.0001, 1.0002): say more
  if (new Set(labels).size < splits.length) return splits.map((v) => (v === 0 ? '0' : v.toExponential(3).replace('e+', 'e')));
  return labels;
}

// Steps and rounds are counted: their axis ticks are whole numbers only.
const INT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];
const intTicks = (_u, splits) => (splits ? splits.map((v) => (Number.isInteger(v) ? String(v) : '')) : []);

function width(el) {
  return Math.max(260, Math.floor(el.getBoundingClientRect().width) - 4);
}

// As wide as the longest tick label: uPlot's fixed default width clips "10,000".
const axisSize = (_u, values) => (values ? Math.max(36, 18 + 8 * Math.max(0, ...values.map((v) => String(v).length))) : 36);

// A series that never changes (a KL of exactly 0) gets a narrow band around its value,
// not uPlot's default 0..100 that suggests a scale the data does not have.
const yRange = (_u, min, max) => {
  if (min === null || max === null) return [0, 1];
  if (min !== max) return [min, max];
  const pad = Math.abs(min) * 0.1 || 1;
  return [min - pad, max + pad];
};
const yAxis = (extra = {}) => ({ stroke: '#6b7385', grid: { stroke: '#eef0f4' }, size: axisSize, values: fmtTicks, ...extra });

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
  constructor(fig, { series, axes2 = false, split = false, points = false, xLabel }) {
    this.fig = fig;
    this.xLabel = xLabel;
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
      series.push({ label: n, stroke: COLORS[i % COLORS.length], width: 1.6, scale: this.scales[i], points: { show: this.points, size: 6 }, spanGaps: true, value: (_u, v) => fmtNum(v) }),
    );
    const axes = [{ stroke: '#6b7385', grid: { stroke: '#eef0f4' }, incrs: INT_INCRS, values: intTicks, label: this.xLabel, labelSize: this.xLabel ? 16 : 0 }, yAxis()];
    const right = this.scales.indexOf('y2');
    if (right >= 0) axes.push(yAxis({ side: 1, scale: 'y2', stroke: COLORS[right % COLORS.length], grid: { show: false } }));
    this.plot = new uPlot(
      {
        width: width(this.fig),
        height: 170,
        scales: { x: { time: false }, y: { range: yRange }, y2: { range: yRange } },
        series,
        axes,
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      },
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

function svgEl(name, attrs = {}, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function legendOf(entries) {
  const legend = document.createElement('div');
  legend.className = 'legend';
  for (const { name, color, dashed } of entries) {
    const s = document.createElement('span');
    const i = document.createElement('i');
    i.style.background = dashed ? 'transparent' : color;
    if (dashed) i.style.borderTop = `2px dashed ${color}`;
    s.append(i, name);
    legend.append(s);
  }
  return legend;
}

/**
 * Stacked bars drawn as SVG: one bar per corpus D_j (labelled as report.md labels it),
 * one colour per part. Fed by the run's records when the page has them, else by the
 * merge stage's trace metrics (merging in round j writes D_{j+1}).
 */
class CompositionChart {
  constructor(fig) {
    this.fig = fig;
    this.plotEl = fig.querySelector('.plot');
    this.rounds = new Map();
    this.fromReport = false;
    this.dirty = false;
  }

  set(round, parts) {
    if (this.fromReport) return;
    this.rounds.set(round, parts);
    this.dirty = true;
  }

  /** The loop ended after round `n` (its final state event). */
  end(n) {
    this.lastRound = n;
    this.dirty = true;
  }

  setAll(list) {
    this.fromReport = true;
    this.rounds = new Map(list.map((c) => [c.round, c.parts]));
    this.dirty = true;
  }

  draw() {
    if (!this.dirty) return;
    this.dirty = false;
    // D_{n+1}, merged after the last round n, is trained on by no round: the report leaves it out too
    const rounds = [...this.rounds.keys()].filter((r) => this.lastRound === undefined || r <= this.lastRound).sort((a, b) => a - b);
    if (!rounds.length) return;
    const keys = [...new Set(rounds.flatMap((r) => Object.keys(this.rounds.get(r))))];
    const max = Math.max(...rounds.map((r) => Object.values(this.rounds.get(r)).reduce((a, b) => a + b, 0)), 1);
    const w = width(this.fig);
    const h = 150;
    const bw = Math.min(60, (w - 40) / rounds.length - 12);
    const svg = svgEl('svg', { class: 'bars', width: w, height: h + 20 });
    rounds.forEach((r, i) => {
      let y = h;
      const x = 36 + i * (bw + 12);
      keys.forEach((k, ki) => {
        const v = this.rounds.get(r)[k] ?? 0;
        if (v <= 0) return;
        const bh = (v / max) * (h - 14);
        y -= bh;
        const rect = svgEl('rect', { x, y, width: bw, height: Math.max(0, bh), fill: COLORS[ki % COLORS.length] });
        rect.append(svgEl('title', {}, `D_${r} ${k}: ${v}`));
        svg.append(rect);
      });
      svg.append(svgEl('text', { x: x + bw / 2, y: h + 14, 'text-anchor': 'middle', class: 'round-label' }, `D_${r}`));
      svg.append(svgEl('text', { x, y: y - 3 }, String(Object.values(this.rounds.get(r)).reduce((a, b) => a + b, 0))));
    });
    this.plotEl.replaceChildren(svg, legendOf(keys.map((k, ki) => ({ name: k, color: COLORS[ki % COLORS.length] }))));
    this.fig.classList.add('has-data');
  }

  reset() {
    this.rounds.clear();
    this.fromReport = false;
    this.lastRound = undefined;
    this.plotEl.replaceChildren();
    this.fig.classList.remove('has-data');
  }
}

/**
 * Accuracy per round as SVG: one line per run (this run and, for a demo or an ablation,
 * its sibling variants), each point with its 95% interval (±1.96 standard errors), the
 * trivial baselines as dashed reference lines, whole-number round ticks.
 */
class AccuracyChart {
  constructor(fig) {
    this.fig = fig;
    this.plotEl = fig.querySelector('.plot');
    this.reset();
  }

  /** From trace metrics: the watched run's points only. */
  add(round, values) {
    if (this.fromReport) return;
    const acc = values.accuracy ?? Object.values(values)[0];
    if (!isNum(acc)) return;
    const n = isNum(values.n) ? values.n : 0;
    const s = this.series[0] ?? (this.series[0] = { name: 'this run', current: true, points: [] });
    s.points = s.points.filter((p) => p.round !== round).concat({ round, accuracy: acc, n, se: n > 0 ? Math.sqrt((acc * (1 - acc)) / n) : 0 });
    this.dirty = true;
  }

  setReport(report) {
    if (!report.series.some((s) => s.points.length)) return;
    this.fromReport = true;
    this.series = report.series;
    this.baselines = report.baselines;
    this.dirty = true;
  }

  draw() {
    if (!this.dirty) return;
    this.dirty = false;
    const pts = this.series.flatMap((s) => s.points);
    if (!pts.length) return;
    const w = width(this.fig);
    const h = 170;
    const m = { l: 40, r: 10, t: 8, b: 22 };
    const maxRound = Math.max(1, ...pts.map((p) => p.round));
    const vals = [...pts.flatMap((p) => [p.accuracy - 1.96 * p.se, p.accuracy + 1.96 * p.se]), ...this.baselines.map((b) => b.value)];
    const lo = Math.max(0, Math.floor(Math.min(...vals) * 10) / 10);
    const hi = Math.min(1, Math.max(lo + 0.1, Math.ceil(Math.max(...vals) * 10) / 10));
    const x = (r) => m.l + ((w - m.l - m.r) * r) / maxRound;
    const y = (v) => h - m.b - ((h - m.t - m.b) * (v - lo)) / (hi - lo);
    const svg = svgEl('svg', { class: 'acc', width: w, height: h });
    for (let k = 0; k <= 4; k++) {
      const v = lo + ((hi - lo) * k) / 4;
      svg.append(svgEl('line', { x1: m.l, x2: w - m.r, y1: y(v), y2: y(v), stroke: '#eef0f4' }));
      svg.append(svgEl('text', { x: m.l - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, `${Math.round(v * 1000) / 10}%`));
    }
    const step = Math.max(1, Math.ceil(maxRound / 10));
    for (let r = 0; r <= maxRound; r += step) svg.append(svgEl('text', { x: x(r), y: h - 6, 'text-anchor': 'middle', class: 'tick round-tick' }, String(r)));
    const entries = [];
    this.baselines.forEach((b, i) => {
      const color = ['#6b7280', '#a16207', '#0f766e'][i % 3];
      svg.append(svgEl('line', { x1: m.l, x2: w - m.r, y1: y(b.value), y2: y(b.value), stroke: color, 'stroke-dasharray': '5 4', class: 'baseline', 'data-name': b.name }));
      entries.push({ name: `${b.name} ${(100 * b.value).toFixed(1)}%`, color, dashed: true });
    });
    this.series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length];
      const ps = [...s.points].sort((a, b) => a.round - b.round);
      if (ps.length > 1) svg.append(svgEl('polyline', { points: ps.map((p) => `${x(p.round)},${y(p.accuracy)}`).join(' '), fill: 'none', stroke: color, 'stroke-width': s.current ? 2.2 : 1.6 }));
      for (const p of ps) {
        if (p.se > 0) svg.append(svgEl('line', { x1: x(p.round), x2: x(p.round), y1: y(Math.max(lo, p.accuracy - 1.96 * p.se)), y2: y(Math.min(hi, p.accuracy + 1.96 * p.se)), stroke: color, 'stroke-opacity': 0.5, 'stroke-width': 5, class: 'ci' }));
        const dot = svgEl('circle', { cx: x(p.round), cy: y(p.accuracy), r: 3.5, fill: color, class: 'point', 'data-series': s.name, 'data-round': p.round });
        dot.append(svgEl('title', {}, `${s.name} round ${p.round}: ${(100 * p.accuracy).toFixed(1)}% ± ${(196 * p.se).toFixed(1)} (n ${p.n})`));
        svg.append(dot);
      }
      entries.push({ name: s.name, color });
    });
    this.plotEl.replaceChildren(svg, legendOf(entries));
    this.fig.classList.add('has-data');
  }

  reset() {
    this.series = [];
    this.baselines = [];
    this.fromReport = false;
    this.dirty = false;
    this.plotEl.replaceChildren();
    this.fig.classList.remove('has-data');
  }
}

/**
 * Which family a metric belongs to, so that one chart holds comparable quantities
 * (a loss is not drawn beside token counts). Counters that only number the points
 * (epoch, step) are the x axis, not a series.
 */
export function familyOf(key) {
  const k = key.toLowerCase();
  if (/(^|_)(epoch|step|round|iteration|index|global_step)s?$/.test(k)) return 'position';
  if (/kl/.test(k)) return 'kl';
  if (/loss/.test(k)) return 'loss';
  if (/reward|acc|match|ppl|perplexity|entropy/.test(k)) return 'score';
  if (/(^|_)lr$|learning/.test(k)) return 'learning rate';
  if (/sec|seconds|time|ms$|_s$|duration|rate|per_s/.test(k)) return 'time';
  if (/token|seq|sample|count|^n$|^n_|_n$|batch|size|len/.test(k)) return 'counts';
  return 'other';
}

export class Charts {
  constructor(root, otherRoot) {
    this.grpo = new LineChart(root.querySelector('#chart-grpo'), { series: ['reward'], xLabel: 'GRPO step' });
    this.kl = new LineChart(root.querySelector('#chart-kl'), { series: ['kl'], xLabel: 'GRPO step' });
    this.accuracy = new AccuracyChart(root.querySelector('#chart-accuracy'));
    this.byKind = new AccuracyChart(root.querySelector('#chart-kinds'));
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
      this.grpoCount++;
      this.grpo.add(this.grpoCount, c);
      if (c.kl !== undefined) this.kl.add(this.grpoCount, c);
    } else if (c.chart === 'accuracy') {
      this.accuracy.add(c.round, c.values);
    } else if (c.chart === 'composition') {
      this.composition.set(c.round, c.parts);
    } else {
      this.genericCharts(c.role, c.values);
    }
    return true;
  }

  /** A loop state event: its final one says how many rounds trained. */
  feedState(e) {
    const d = e.data;
    if (e.role === 'loop' && d && d.to === 'done' && isNum(d.round)) this.composition.end(d.round);
  }

  /** The run's own records (/api/report): what report.md shows, labelled the same way. */
  setReport(report) {
    if (!report?.available) return;
    this.accuracy.setReport(report);
    this.byKind.setReport({ series: report.byKind.map((k) => ({ ...k, current: false })), baselines: [] });
    if (report.composition.length) this.composition.setAll(report.composition);
  }

  genericCharts(role, values) {
    const keys = Object.keys(values);
    const xKey = X_KEYS.find((k) => keys.includes(k) && familyOf(k) === 'position');
    const byFamily = new Map();
    for (const k of keys) {
      const f = familyOf(k);
      if (f === 'position') continue;
      if (!byFamily.has(f)) byFamily.set(f, []);
      byFamily.get(f).push(k);
    }
    for (const [family, names] of byFamily) {
      const id = `${role}/${family}`;
      let g = this.generic.get(id);
      if (!g) {
        const fig = document.createElement('figure');
        fig.className = 'chart generic';
        fig.dataset.role = role;
        fig.dataset.family = family;
        const cap = document.createElement('figcaption');
        cap.textContent = `${role}: ${family}`;
        const plot = document.createElement('div');
        plot.className = 'plot';
        fig.append(cap, plot);
        this.otherRoot.append(fig);
        g = { chart: new LineChart(fig, { series: names.slice(0, 6), xLabel: xKey }), n: 0 };
        this.generic.set(id, g);
      }
      const extra = names.filter((k) => !g.chart.names.includes(k));
      if (extra.length && g.chart.names.length < 6) g.chart.ensure(extra.slice(0, 6 - g.chart.names.length));
      g.chart.add(xKey && isNum(values[xKey]) ? values[xKey] : ++g.n, values);
    }
  }

  draw() {
    this.grpo.draw();
    this.kl.draw();
    this.accuracy.draw();
    this.byKind.draw();
    this.composition.draw();
    for (const g of this.generic.values()) g.chart.draw();
  }

  reset() {
    this.grpo.reset();
    this.kl.reset();
    this.accuracy.reset();
    this.byKind.reset();
    this.composition.reset();
    this.grpoCount = 0;
    for (const g of this.generic.values()) {
      g.chart.plot?.destroy();
      g.chart.fig.remove();
    }
    this.generic.clear();
  }
}
