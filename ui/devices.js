// devices.js: the device list (filters and the cursor of
// GET /api/v1/devices) and a device's page: groups, labels, attributes,
// its status in every rollout, its events and its DDI actions, each list
// paged with its own cursor.
import * as api from './api.js';
import { append, fmtTime, h, pre, table } from './dom.js';

const PAGE = 50;
const FILTERS = ['group', 'hardware', 'version', 'seen_before'];

export async function render(ctx, id, query) {
  return id ? detail(ctx, id) : list(ctx, query);
}

async function list(ctx, query) {
  const form = h('form.inline#device-filter', {},
    FILTERS.map(f => [h('label', { for: `f-${f}` }, f.replace('_', ' ')),
      h('input', { id: `f-${f}`, value: query.get(f) || '', size: 14 })]),
    h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const f of FILTERS) {
      const v = document.getElementById(`f-${f}`).value.trim();
      if (v) q.set(f, v);
    }
    location.hash = `#/devices?${q}`;
  });
  const goto = h('form.inline#device-goto', {},
    h('label', { for: 'device-id' }, 'Device id '),
    h('input#device-id', { size: 24 }), h('button', { type: 'submit' }, 'Open'));
  goto.addEventListener('submit', ev => {
    ev.preventDefault();
    const v = document.getElementById('device-id').value.trim();
    if (v) location.hash = `#/devices/${encodeURIComponent(v)}`;
  });
  const body = h('tbody');
  const more = h('button#devices-more', { type: 'button', hidden: true },
    'More');
  append(ctx.page, h('h1', {}, 'Devices'), goto, form,
    h('table#devices', {}, h('thead', {}, h('tr', {},
      ['Id', 'Hardware', 'Version', 'Groups', 'Labels', 'Last seen']
        .map(t => h('th', {}, t)))), body), more);
  const filter = {};
  for (const f of FILTERS) filter[f] = query.get(f) || undefined;
  let after = null;
  const load = async () => {
    const page = await api.get('devices', { ...filter, after, limit: PAGE });
    if (!ctx.live()) return;
    for (const d of page.devices)
      body.append(h('tr', {},
        h('td', {}, h('a', { href: `#/devices/${encodeURIComponent(d.id)}` },
          d.id)),
        h('td', {}, d.hardware, d.hardware_mismatch
          ? h('span.breached', {}, ` reports ${d.reported_hardware}`) : null),
        h('td', {}, d.version ?? '—'), h('td', {}, d.groups.join(', ')),
        h('td', {}, labels(d.labels)), h('td', {}, fmtTime(d.last_seen_at))));
    after = page.next_after;
    more.hidden = after === null;
  };
  more.addEventListener('click', () => load().catch(ctx.showError));
  await load();
}

function labels(l) {
  const e = Object.entries(l || {});
  return e.length ? e.map(([k, v]) => `${k}=${v}`).join(', ') : '—';
}

// A paged section: fetch(cursor) -> {rows, next}; columns as table().
function paged(ctx, id, title, columns, fetch) {
  const body = h('tbody');
  const more = h('button', { id: `${id}-more`, type: 'button', hidden: true },
    'More');
  const sec = h('section', { id }, h('h2', {}, title),
    h('table', {}, h('thead', {}, h('tr', {}, columns.map(c =>
      h('th', {}, c.title)))), body), more);
  let cursor = null;
  const load = async () => {
    const { rows, next } = await fetch(cursor);
    if (!ctx.live()) return;
    for (const r of rows)
      body.append(h('tr', {}, columns.map(c => h('td', {}, c.cell(r)))));
    if (rows.length === 0 && cursor === null)
      body.append(h('tr', {}, h('td', { colspan: columns.length }, 'none')));
    cursor = next;
    more.hidden = next === null;
  };
  more.addEventListener('click', () => load().catch(ctx.showError));
  return { sec, load };
}

async function detail(ctx, id) {
  const enc = encodeURIComponent(id);
  const d = await api.get(`devices/${enc}`);
  if (!ctx.live()) return;
  const updates = paged(ctx, 'device-updates', 'Rollouts', [
    { title: 'Rollout', cell: u => h('a', { href: `#/rollouts/${u.rollout}` },
      `#${u.rollout}${u.rollout_name ? ' ' + u.rollout_name : ''}`) },
    { title: 'Rollout state', cell: u => u.rollout_state },
    { title: 'Ships', cell: u => u.image
      ? `${u.image.name} ${u.image.version}` : u.bundle
        ? `bundle ${u.bundle.name} ${u.bundle.version}` : '—' },
    { title: 'Status', cell: u => h(`span.status.${u.status}`, {}, u.status) },
    { title: 'Stage', cell: u => u.stage_index + 1 },
    { title: 'Offered', cell: u => fmtTime(u.offered_at) },
    { title: 'Finished', cell: u => fmtTime(u.finished_at) },
  ], async before => {
    const p = await api.get(`devices/${enc}/updates`, { before, limit: 20 });
    return { rows: p.updates, next: p.next_before };
  });
  const events = paged(ctx, 'device-events', 'Events', [
    { title: 'Device time', cell: e => fmtTime(e.ts) },
    { title: 'Rollout', cell: e => h('a', { href: `#/rollouts/${e.rollout}` },
      `#${e.rollout}`) },
    { title: 'Version', cell: e => e.version },
    { title: 'State', cell: e => e.state + (e.progress != null
      ? ` ${e.progress}%` : '') },
    { title: 'Result', cell: e => e.result ?? '' },
    { title: 'Detail', cell: e => e.detail || '' },
    { title: 'Via', cell: e => e.transport },
  ], async before => {
    const p = await api.get(`devices/${enc}/events`, { before, limit: PAGE });
    return { rows: p.events, next: p.next_before };
  });
  const actions = paged(ctx, 'device-actions', 'DDI actions', [
    { title: 'Action', cell: a => a.id },
    { title: 'Rollout', cell: a => a.rollout != null
      ? h('a', { href: `#/rollouts/${a.rollout}` }, `#${a.rollout}`) : '—' },
    { title: 'Status', cell: a => a.status },
    { title: 'Result', cell: a => a.result ?? '—' },
    { title: 'Created', cell: a => fmtTime(a.created_at) },
    { title: 'Closed', cell: a => fmtTime(a.closed_at) },
  ], async after => {
    const p = await api.get(`devices/${enc}/actions`, { after, limit: PAGE });
    return { rows: p.actions, next: p.next_after };
  });
  append(ctx.page, h('p', {}, h('a', { href: '#/devices' }, '← Devices')),
    h('h1', {}, `Device ${d.id}`),
    h('dl.facts#device-facts', {},
      h('dt', {}, 'Hardware'), h('dd', {}, d.hardware, d.hardware_mismatch
        ? h('span.breached', {}, ` (reports ${d.reported_hardware})`) : null),
      h('dt', {}, 'Installed version'), h('dd', {}, d.version ?? '—'),
      h('dt', {}, 'Groups'), h('dd#device-groups', {},
        d.groups.join(', ') || '—'),
      h('dt', {}, 'Labels'), h('dd', {}, labels(d.labels)),
      h('dt', {}, 'Last seen'), h('dd', {}, fmtTime(d.last_seen_at)),
      h('dt', {}, 'Created'), h('dd', {}, fmtTime(d.created_at))),
    h('h2', {}, 'Components'),
    (d.components || []).length === 0 ? h('p', {}, 'none')
      : table([
        { title: 'Component', cell: c => c.name },
        { title: 'Hardware', cell: c => c.hardware },
        { title: 'Version', cell: c => c.version ?? 'not known' },
      ], d.components, { id: 'device-components' }),
    h('h2', {}, 'Attributes (DDI configData)'),
    d.attributes ? pre(d.attributes) : h('p', {}, 'none reported'),
    updates.sec, events.sec, actions.sec);
  await Promise.all([updates.load(), events.load(), actions.load()]);
}
