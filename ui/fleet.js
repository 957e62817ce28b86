// fleet.js: the fleet overview: devices by installed version and by
// hardware, how many were not seen for N days, and when devices were
// last seen (GET /api/v1/fleet/summary).
import * as api from './api.js';
import { distribution } from './chart.js';
import { append, bar, fmtNum, fmtTime, h, table } from './dom.js';

// The last-seen distribution's entries, newest first.
const SEEN = [['hour', 'in the last hour', 'completed'],
  ['day', 'in the last day (not the hour)', 'completed'],
  ['week', 'in the last week (not the day)', 'progress'],
  ['older', 'more than a week ago', 'failed'],
  ['never', 'never', 'failed']];

function lastSeen(sum) {
  const ls = sum.last_seen;
  return [h('h2', {}, 'Last seen'),
    bar(SEEN.map(([k, t, cls]) => ({ n: ls[k], cls, title: `${ls[k]} ${t}` })),
      sum.devices, 'devices by when last seen'),
    table([
      { title: 'Last seen', cell: r => r[1] },
      { title: 'Devices', cell: r => h('span', { dataset: { seen: r[0] } },
        fmtNum(ls[r[0]])), cls: 'num' },
    ], SEEN, { id: 'last-seen' })];
}

function devicesLink(query, text) {
  const q = new URLSearchParams(query).toString();
  return h('a', { href: `#/devices?${q}` }, text);
}

export async function render(ctx, _id, query) {
  const days = query.get('stale_days') || '7';
  const sum = await api.get('fleet/summary', { stale_days: days });
  if (!ctx.live()) return;
  const form = h('form.inline', { id: 'stale-form' },
    h('label', { for: 'stale-days' }, 'Not seen for '),
    h('input', { id: 'stale-days', type: 'number', min: 1, max: 3650,
      value: days }),
    ' days ', h('button', { type: 'submit' }, 'Update'));
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    location.hash = `#/fleet?stale_days=${encodeURIComponent(
      document.getElementById('stale-days').value)}`;
  });
  const versions = sum.by_version.map(v => ({
    label: v.version ?? '(none reported)', n: v.devices, stale: v.stale }));
  append(ctx.page,
    h('h1', {}, 'Fleet'),
    h('div.cards', {},
      h('div.card', {}, h('div.big#fleet-devices', {}, fmtNum(sum.devices)),
        'devices'),
      h('div.card', {}, h('div.big#fleet-stale', {}, fmtNum(sum.stale)),
        devicesLink({ seen_before: sum.seen_before },
          `not seen for ${sum.stale_days} days (or never)`)),
      h('div.card', {}, h('div.big', {}, fmtNum(sum.by_version.length)),
        'installed versions')),
    form,
    h('p.note', {}, `Stale: last seen before ${fmtTime(sum.seen_before)}.`),
    lastSeen(sum),
    h('h2', {}, 'Installed versions'),
    distribution(versions, 'devices by installed version'),
    h('p.legend', {}, h('span.key.fresh'), ' seen recently ',
      h('span.key.stale'), ' stale'),
    table([
      { title: 'Version', cell: v => v.version === null ? '(none reported)'
        : devicesLink({ version: v.version }, v.version) },
      { title: 'Devices', cell: v => fmtNum(v.devices), cls: 'num' },
      { title: 'Stale', cell: v => fmtNum(v.stale), cls: 'num' },
    ], sum.by_version, { id: 'by-version' }),
    other(sum.by_version_other),
    h('h2', {}, 'Hardware'),
    table([
      { title: 'Hardware', cell: v => devicesLink({ hardware: v.hardware },
        v.hardware) },
      { title: 'Devices', cell: v => fmtNum(v.devices), cls: 'num' },
      { title: 'Stale', cell: v => fmtNum(v.stale), cls: 'num' },
    ], sum.by_hardware, { id: 'by-hardware' }),
    other(sum.by_hardware_other));
}

function other(o) {
  return o && o.entries > 0
    ? h('p.note', {}, `and ${fmtNum(o.entries)} more with ${fmtNum(o.devices)}`
      + ` devices (${fmtNum(o.stale)} stale)`)
    : null;
}
