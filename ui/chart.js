// chart.js: the two SVG charts of the dashboard, drawn from numbers only
// (labels go in through text nodes).
import { s } from './dom.js';

// Horizontal bars: rows [{label, n, stale}], largest first.
export function distribution(rows, title) {
  const W = 640, BAR = 22, GAP = 6, LABEL = 160, NUM = 110;
  const H = Math.max(1, rows.length) * (BAR + GAP) + GAP;
  const max = Math.max(1, ...rows.map(r => r.n));
  const total = rows.reduce((a, r) => a + r.n, 0) || 1;
  const svg = s('svg.chart', { viewBox: `0 0 ${W} ${H}`, width: W, height: H,
    role: 'img', 'aria-label': title });
  svg.append(s('title', {}, title));
  rows.forEach((r, i) => {
    const y = GAP + i * (BAR + GAP);
    const w = ((W - LABEL - NUM) * r.n) / max;
    const ws = ((W - LABEL - NUM) * (r.stale || 0)) / max;
    svg.append(
      s('text.label', { x: LABEL - 8, y: y + BAR * 0.7, 'text-anchor': 'end' },
        r.label.length > 22 ? r.label.slice(0, 21) + '…' : r.label),
      s('rect.fresh', { x: LABEL, y, width: Math.max(w, 1), height: BAR },
        s('title', {}, `${r.label}: ${r.n} devices, ${r.stale || 0} stale`)),
      s('rect.stale', { x: LABEL, y, width: ws, height: BAR }),
      s('text.num', { x: LABEL + w + 6, y: y + BAR * 0.7 },
        `${r.n.toLocaleString('en')} (${((100 * r.n) / total).toFixed(1)}%)`));
  });
  return svg;
}

// A line of the cumulative failure rate per bucket against the threshold.
// points [{t: label, rate: 0..1}], threshold 0..1.
export function rateLine(points, threshold, title) {
  const W = 640, H = 200, L = 48, R = 12, T = 12, B = 28;
  const top = Math.max(threshold * 1.5, ...points.map(p => p.rate), 0.05);
  const x = i => L + (points.length < 2 ? (W - L - R) / 2
    : (i * (W - L - R)) / (points.length - 1));
  const y = v => T + (H - T - B) * (1 - v / top);
  const svg = s('svg.chart.rate', { viewBox: `0 0 ${W} ${H}`, width: W,
    height: H, role: 'img', 'aria-label': title });
  svg.append(s('title', {}, title));
  for (const v of [0, top / 2, top]) {
    svg.append(s('line.grid', { x1: L, x2: W - R, y1: y(v), y2: y(v) }),
      s('text.axis', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end' },
        (100 * v).toFixed(0) + '%'));
  }
  svg.append(s('line.threshold', { x1: L, x2: W - R, y1: y(threshold),
    y2: y(threshold) }, s('title', {},
    `threshold ${(100 * threshold).toFixed(1)}%`)));
  if (points.length > 0) {
    const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(i)},${y(p.rate)}`)
      .join(' ');
    svg.append(s('path.rate', { d }));
    points.forEach((p, i) => svg.append(
      s('circle.rate', { cx: x(i), cy: y(p.rate), r: 3 },
        s('title', {}, `${p.t}: ${(100 * p.rate).toFixed(1)}%`))));
    svg.append(
      s('text.axis', { x: L, y: H - 8 }, points[0].t),
      s('text.axis', { x: W - R, y: H - 8, 'text-anchor': 'end' },
        points[points.length - 1].t));
  } else {
    svg.append(s('text.axis', { x: W / 2, y: H / 2, 'text-anchor': 'middle' },
      'no final reports yet'));
  }
  return svg;
}
