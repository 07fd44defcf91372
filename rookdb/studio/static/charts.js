// Small line charts drawn as inline SVG: no library, scales to its container's width.
import { h, svg } from './dom.js';

const WIDTH = 560;
const HEIGHT = 180;
const PAD = { left: 48, right: 14, top: 14, bottom: 26 };

function niceMax(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((candidate) => candidate * magnitude >= value) ?? 10;
  return step * magnitude;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

// points: [{t: epoch ms, v: number}], oldest first.
export function lineChart({ title, points, format = (v) => String(v), variant = '' }) {
  const wrapper = h('figure', { class: 'chart', dataset: { chart: title } },
    h('figcaption', { class: 'chart-title' }, title));
  if (points.length === 0) {
    wrapper.append(h('div', { class: 'chart-empty' }, 'Not enough samples yet'));
    return wrapper;
  }
  const t0 = points[0].t;
  const t1 = Math.max(points[points.length - 1].t, t0 + 1000);
  const top = niceMax(Math.max(...points.map((point) => point.v)));
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * innerWidth;
  const y = (v) => PAD.top + innerHeight - (v / top) * innerHeight;
  const line = points.map((point, index) => `${index ? 'L' : 'M'}${x(point.t).toFixed(1)},${y(point.v).toFixed(1)}`).join('');
  const baseline = y(0).toFixed(1);
  const area = `${line}L${x(points[points.length - 1].t).toFixed(1)},${baseline}L${x(t0).toFixed(1)},${baseline}Z`;
  const last = points[points.length - 1];
  const grid = [0, 0.5, 1].map((fraction) => {
    const value = top * fraction;
    return [
      svg('line', { class: 'grid-line', x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value) }),
      svg('text', { class: 'axis-label', x: PAD.left - 6, y: y(value) + 4, 'text-anchor': 'end' }, format(value)),
    ];
  });
  wrapper.append(svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img',
    'aria-label': `${title}: ${format(last.v)} at ${clock(last.t)}, over ${points.length} samples` },
  grid,
  svg('text', { class: 'axis-label', x: PAD.left, y: HEIGHT - 6 }, clock(t0)),
  svg('text', { class: 'axis-label', x: WIDTH - PAD.right, y: HEIGHT - 6, 'text-anchor': 'end' }, clock(t1)),
  svg('path', { class: ['series-area', variant], d: area }),
  svg('path', { class: ['series-line', variant], d: line }),
  svg('circle', { class: ['series-dot', variant], cx: x(last.t), cy: y(last.v), r: 3.5 })));
  return wrapper;
}

// bars: [{label, values: [number, ...]}], oldest first; each value drawn as its own bar in the
// group, in the order of `series` ([{name, variant}]).
export function barChart({ title, bars, series, format = (v) => String(v) }) {
  const wrapper = h('figure', { class: 'chart', dataset: { chart: title } },
    h('figcaption', { class: 'chart-title' }, title,
      h('span', { class: 'chart-legend' }, series.map((item) => h('span', { class: ['legend-item', item.variant] }, item.name)))));
  if (bars.length === 0) {
    wrapper.append(h('div', { class: 'chart-empty' }, 'Nothing counted yet'));
    return wrapper;
  }
  const top = niceMax(Math.max(...bars.flatMap((bar) => bar.values)));
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = innerWidth / bars.length;
  const width = Math.max(2, (slot * 0.8) / series.length);
  const y = (v) => PAD.top + innerHeight - (v / top) * innerHeight;
  const grid = [0, 0.5, 1].map((fraction) => [
    svg('line', { class: 'grid-line', x1: PAD.left, x2: WIDTH - PAD.right, y1: y(top * fraction), y2: y(top * fraction) }),
    svg('text', { class: 'axis-label', x: PAD.left - 6, y: y(top * fraction) + 4, 'text-anchor': 'end' }, format(top * fraction)),
  ]);
  const rects = bars.flatMap((bar, index) => bar.values.map((value, which) => svg('rect', {
    class: ['series-bar', series[which].variant], x: PAD.left + index * slot + slot * 0.1 + which * width, y: y(value),
    width, height: Math.max(0, y(0) - y(value)), dataset: { label: bar.label, series: series[which].name, value } })));
  const first = bars[0].label;
  const last = bars[bars.length - 1].label;
  wrapper.append(svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img',
    'aria-label': `${title}: ${bars.length} days, ${first} to ${last}` },
  grid, rects,
  svg('text', { class: 'axis-label', x: PAD.left, y: HEIGHT - 6 }, first),
  bars.length > 1 && svg('text', { class: 'axis-label', x: WIDTH - PAD.right, y: HEIGHT - 6, 'text-anchor': 'end' }, last)));
  return wrapper;
}
