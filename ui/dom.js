// dom.js: building the page without markup strings.  Every text that came
// from the server goes in through textContent, never innerHTML.

const SVGNS = 'http://www.w3.org/2000/svg';

// h('tag.class#id', {attr: value, onclick: fn}, ...children)
export function h(spec, attrs = {}, ...children) {
  return build(document.createElement(tagOf(spec)), spec, attrs, children);
}

export function s(spec, attrs = {}, ...children) {
  return build(document.createElementNS(SVGNS, tagOf(spec)), spec, attrs,
    children);
}

function tagOf(spec) {
  return spec.split(/[.#]/)[0];
}

function build(el, spec, attrs, children) {
  for (const m of spec.matchAll(/([.#])([^.#]+)/g)) {
    if (m[1] === '.') el.classList.add(m[2]);
    else el.id = m[2];
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// A table: columns [{title, cell: row => node|text, cls}], rows.
export function table(columns, rows, attrs = {}) {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, columns.map(c => h('th', {}, c.title)))),
    h('tbody', {}, rows.map(r => h('tr', {},
      columns.map(c => h('td', c.cls ? { class: c.cls } : {}, c.cell(r)))))));
}

export function fmtPct(x) {
  return (100 * (x || 0)).toFixed(1) + '%';
}

export function fmtNum(n) {
  return (n ?? 0).toLocaleString('en');
}

export function fmtTime(t) {
  return t ? t.replace('T', ' ').replace('Z', ' UTC') : '—';
}

// A JSON value, pretty, as a <pre>.
export function pre(v) {
  return h('pre.json', {}, JSON.stringify(v, null, 2));
}

// A horizontal bar (SVG) of parts [{n, cls, title}] out of total.
export function bar(parts, total, label) {
  const W = 200, H = 14;
  const svg = s('svg.bar', { viewBox: `0 0 ${W} ${H}`, width: W, height: H,
    role: 'img', 'aria-label': label || '' });
  svg.append(s('rect.bar-bg', { x: 0, y: 0, width: W, height: H, rx: 2 }));
  let x = 0;
  for (const p of parts) {
    const w = total > 0 ? Math.min(W - x, (W * p.n) / total) : 0;
    if (w <= 0) continue;
    svg.append(s(`rect.${p.cls}`, { x, y: 0, width: w, height: H },
      s('title', {}, p.title || '')));
    x += w;
  }
  return svg;
}
