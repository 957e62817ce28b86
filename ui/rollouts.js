// rollouts.js: the rollouts list and a rollout's page.  The page refreshes
// its figures every REFRESH_MS in place (health, series, audit, state);
// actions (pause, resume, advance, abort, start) need the release role,
// a reason and a confirmation.
import * as api from './api.js';
import { rateLine } from './chart.js';
import { append, bar, clear, fmtNum, fmtPct, fmtTime, h, table }
  from './dom.js';

const REFRESH_MS = 3000;
const PAGE = 20;

// LwM2M firmware update result codes (object 5, resource 5).
const LWM2M = {
  0: 'initial', 1: 'success', 2: 'not enough flash', 3: 'out of RAM',
  4: 'connection lost', 5: 'integrity check failed',
  6: 'unsupported package', 7: 'invalid URI', 8: 'update failed',
  9: 'unsupported protocol',
};

// The actions each state allows (rollout.c's transitions).
const ACTIONS = {
  draft: ['start', 'abort'],
  running: ['pause', 'advance', 'abort'],
  paused: ['resume', 'advance', 'abort'],
};

export async function render(ctx, id, query) {
  if (id) return detail(ctx, id);
  return list(ctx, query);
}

// What a rollout ships: an image, or a release bundle (image null).
export function shipped(r) {
  if (r.bundle)
    return h('a', { href: `#/bundles/${r.bundle.id}` },
      `bundle ${r.bundle.name} ${r.bundle.version}`);
  if (r.image)
    return h('a', { href: `#/images/${r.image.id}` },
      `${r.image.name} ${r.image.version}`);
  return '—';
}

function stateBadge(state) {
  return h(`span.state.${state}`, {}, state);
}

function stageBars(r, health) {
  return h('div.stages', {}, r.stages.map((p, i) => {
    const st = health ? health.stages[i] : null;
    const reached = i <= r.stage_index && r.state !== 'draft';
    const label = `stage ${i} (${p}%)`;
    if (!st)
      return h('div.stage', {}, bar([{ n: reached ? 1 : 0, cls: 'reached',
        title: label }], 1, label), ` ${p}%`);
    const n = st.in_stage;
    return h('div.stage', {}, bar([
      { n: st.completed, cls: 'completed', title: `${st.completed} completed` },
      { n: st.failed + st.reverted, cls: 'failed',
        title: `${st.failed + st.reverted} failed or reverted` },
      { n: st.in_progress, cls: 'progress',
        title: `${st.in_progress} installing` },
    ], n, label), ` ${p}%: ${fmtNum(st.completed)}/${fmtNum(n)}`);
  }));
}

async function list(ctx, query) {
  const state = query.get('state') || '';
  const filter = h('form.inline', { id: 'rollout-filter' },
    h('label', { for: 'rollout-state' }, 'State '),
    h('select', { id: 'rollout-state' }, ['', 'draft', 'running', 'paused',
      'completed', 'aborted'].map(s => h('option', { value: s,
      selected: s === state }, s || 'any'))));
  filter.addEventListener('change', () => {
    const v = document.getElementById('rollout-state').value;
    location.hash = v ? `#/rollouts?state=${v}` : '#/rollouts';
  });
  const body = h('tbody');
  const more = h('button#rollouts-more', { type: 'button', hidden: true },
    'More');
  append(ctx.page, h('h1', {}, 'Rollouts'), filter,
    h('table#rollouts', {}, h('thead', {}, h('tr', {},
      ['Id', 'Name', 'Image', 'State', 'Stages', 'Health', 'Updated']
        .map(t => h('th', {}, t)))), body), more);
  let after = null;
  const load = async () => {
    const page = await api.get('rollouts', { state, after, limit: PAGE });
    if (!ctx.live()) return;
    for (const r of page.rollouts) body.append(row(ctx, r));
    after = page.next_after;
    more.hidden = after === null;
  };
  more.addEventListener('click', () => load().catch(ctx.showError));
  await load();
}

function row(ctx, r) {
  // Health walks the targeted devices (given again for a while when the
  // walk is slow): the list asks only for the rollouts still moving.
  const live = r.state === 'running' || r.state === 'paused';
  const health = h('td.health', {}, live ? '…' : '—');
  const stages = h('td', {}, stageBars(r, null));
  const tr = h('tr', { dataset: { rollout: r.id } },
    h('td', {}, h('a', { href: `#/rollouts/${r.id}` }, `#${r.id}`)),
    h('td', {}, r.name || '—'),
    h('td', {}, shipped(r)),
    h('td', {}, stateBadge(r.state), r.reason ? h('div.reason', {}, r.reason)
      : null),
    stages, health, h('td', {}, fmtTime(r.updated_at)));
  if (live)
    api.get(`rollouts/${r.id}/health`).then(hl => {
      if (!ctx.live()) return;
      clear(stages).append(stageBars(r, hl));
      clear(health).append(hl.breached
        ? h('span.breached', {}, 'breached') : h('span.ok', {}, 'ok'),
        ` ${fmtPct(hl.total.failure_rate)} failed`);
    }).catch(e => {
      health.textContent = `${e.error || 'error'}`;
    });
  return tr;
}

// ---- one rollout ----------------------------------------------------------

async function detail(ctx, id) {
  const head = h('section#rollout-head');
  const actions = h('div#actions.actions');
  const funnel = h('section#funnel');
  const chart = h('section#series');
  const audit = h('section#audit');
  const bucket = h('select#bucket', {},
    [[600, '10 minutes'], [3600, '1 hour'], [86400, '1 day']].map(([v, t]) =>
      h('option', { value: v, selected: v === 3600 }, t)));
  const parts = h('section#bundle-parts');
  const policy = h('section#policy');
  append(ctx.page, h('p', {}, h('a', { href: '#/rollouts' }, '← Rollouts')),
    head, actions, parts, h('h2', {}, 'Policy'), policy,
    h('h2', {}, 'Funnel per stage'), funnel,
    h('h2', {}, 'Failure rate over time '), h('p.inline', {},
      h('label', { for: 'bucket' }, 'Bucket '), bucket), chart,
    h('h2', {}, 'Audit trail'), audit,
    h('p.note#refreshed', {}, ''));
  let busy = false;
  let partsShown = false;
  const refresh = async () => {
    if (busy) return;
    busy = true;
    try {
      const [r, hl, se, au] = await Promise.all([
        api.get(`rollouts/${id}`),
        api.get(`rollouts/${id}/health`),
        api.get(`rollouts/${id}/series`, { bucket_sec: bucket.value }),
        api.get(`rollouts/${id}/audit`)]);
      if (!ctx.live()) return;
      drawHead(head, r, hl);
      drawActions(ctx, actions, r, refresh);
      drawPolicy(ctx, policy, r, refresh);
      if (r.bundle && !partsShown) {
        partsShown = true;
        drawParts(parts, await api.get(`bundles/${r.bundle.id}`));
      }
      drawFunnel(funnel, r, hl);
      drawSeries(chart, se);
      drawAudit(audit, au);
      document.getElementById('refreshed').textContent =
        `Updated ${new Date().toLocaleTimeString('en-GB')}; refreshes every `
        + `${REFRESH_MS / 1000} s.`;
    } finally {
      busy = false;
    }
  };
  bucket.addEventListener('change', () => refresh().catch(ctx.showError));
  await refresh();
  const timer = setInterval(() => refresh().catch(e => {
    if (ctx.live()) ctx.showError(e);
  }), REFRESH_MS);
  ctx.onLeave(() => clearInterval(timer));
}

function drawHead(el, r, hl) {
  clear(el).append(
    h('h1', {}, `Rollout #${r.id}`, r.name ? ` — ${r.name}` : ''),
    h('dl.facts', {},
      h('dt', {}, 'State'), h('dd#rollout-state', {}, stateBadge(r.state)),
      h('dt', {}, 'Reason'), h('dd#rollout-reason', {}, r.reason || '—'),
      h('dt', {}, r.bundle ? 'Bundle' : 'Image'), h('dd#rollout-ships', {},
        shipped(r)),
      h('dt', {}, 'Groups'), h('dd', {}, r.groups.join(', ') || '—'),
      h('dt', {}, 'Stage'), h('dd#rollout-stage', {},
        `${r.stage_index + 1} of ${r.stages.length} (${r.stage_percent}%)`),
      h('dt', {}, 'Health'), h('dd#rollout-health', {},
        hl.breached ? h('span.breached', {}, 'breached')
          : h('span.ok', {}, hl.healthy ? 'healthy' : 'within threshold'),
        ` — ${fmtPct(hl.total.failure_rate)} of finished updates failed`),
      h('dt', {}, 'Started'), h('dd', {}, fmtTime(r.started_at)),
      h('dt', {}, 'Created'), h('dd', {}, `${fmtTime(r.created_at)} by `
        + `${r.created_by}`)),
    stageBars(r, hl));
}

// A bundle's parts, in install order, each linked to its image.
export function partsTable(b, attrs) {
  return table([
    { title: '#', cell: p => p.order, cls: 'num' },
    { title: 'Component', cell: p => p.component },
    { title: 'Image', cell: p => h('a', { href: `#/images/${p.image_id}` },
      `#${p.image_id}`) },
    { title: 'Via', cell: p => p.via ?? '—' },
    { title: 'Hardware', cell: p => p.hardware ?? 'any its image lists' },
  ], b.parts.slice().sort((x, y) => x.order - y.order), attrs);
}

function drawParts(el, b) {
  clear(el).append(h('h2', {}, 'Bundle parts (install order)'),
    partsTable(b, { id: 'rollout-parts' }));
}

function fmtSecs(s) {
  if (!s) return 'by hand only';
  return s % 3600 === 0 ? `after ${s / 3600} h` : s % 60 === 0
    ? `after ${s / 60} min` : `after ${s} s`;
}

const POLICY = [
  ['gate', 'Gate', r => r.gate],
  ['confidence', 'Confidence', r => r.gate === 'simple'
    ? `${r.confidence} (not used by the simple gate)` : String(r.confidence)],
  ['failure_threshold', 'Failure threshold', r =>
    fmtPct(r.failure_threshold)],
  ['min_reports', 'Minimum reports', r => String(r.min_reports)],
  ['advance_after', 'Advance', r => fmtSecs(r.advance_after)],
  ['from_version', 'From version', r => r.from_version || 'every version'],
  ['start_at', 'Scheduled start', r => fmtTime(r.start_at)],
  ['selector', 'Selector', r => r.selector || 'every device of the groups'],
  ['maintenance_windows', 'Maintenance windows', r =>
    r.maintenance_windows || 'any time'],
  ['outside_window', 'Outside the windows', r => r.outside_window ?? '—'],
  ['action_type', 'Action type', r => (r.action_type ?? '—')
    + (r.forced_at ? `, forced from ${fmtTime(r.forced_at)}` : '')],
  ['device_timeout', 'Device timeout', r =>
    r.device_timeout ? fmtSecs(r.device_timeout).replace('after ', '')
      : 'none'],
  ['max_retries', 'Retries', r => r.max_retries
    ? `${r.max_retries}, first after ${r.retry_backoff} s, doubling` : 'none'],
  ['abort_on', 'The gate counts', r => (r.abort_on || []).join(', ')
    + ((r.ignore_results || []).length
      ? ` (not results ${r.ignore_results.join(', ')})` : '')],
  ['breach_action', 'On a breach', r => r.breach_action ?? '—'],
  ['max_offers_per_minute', 'Rate of new offers', r =>
    r.max_offers_per_minute ? `${r.max_offers_per_minute} a minute`
      + (r.rate_ramp_minutes ? `, doubled every ${r.rate_ramp_minutes} min`
        + ` up to ${r.rate_ramp_max}` : '') : 'no limit'],
  ['require_consent', 'Consent', r => r.require_consent
    ? 'asked before installing; ' + (r.consent_retry
      ? `asked again ${r.consent_retry} s after a decline`
      : 'a decline is final') : 'not asked'],
];

// The policy as facts; release and admin may edit it while the rollout is
// a draft or paused.  An open form is left alone by the refresh.
function drawPolicy(ctx, el, r, refresh) {
  if (el.querySelector('#policy-form')) return;
  clear(el).append(h('dl.facts#policy-facts', {}, POLICY.map(([k, t, f]) =>
    [h('dt', {}, t), h('dd', { dataset: { policy: k } }, f(r))])));
  if (!ctx.can('release') || !['draft', 'paused'].includes(r.state)) return;
  el.append(h('button#edit-policy', { type: 'button',
    onclick: () => policyForm(ctx, el, r, refresh) }, 'Edit policy'));
}

const FIELDS = [
  ['gate', 'select', ['simple', 'wilson']],
  ['confidence', 'number', '0.0001'],
  ['failure_threshold', 'number', '0.000001'],
  ['min_reports', 'number', '1'],
  ['advance_after', 'number', '1'],
  ['from_version', 'text'],
  ['start_at', 'text'],
  ['selector', 'text'],
  ['maintenance_windows', 'text'],
  ['outside_window', 'select', ['notify', 'silent']],
  ['action_type', 'select', ['forced', 'soft', 'time-forced',
    'download-only']],
  ['forced_at', 'text'],
  ['device_timeout', 'number', '1'],
  ['max_retries', 'number', '1'],
  ['retry_backoff', 'number', '1'],
  ['abort_on', 'list'],
  ['ignore_results', 'codes'],
  ['breach_action', 'select', ['pause', 'abort']],
  ['max_offers_per_minute', 'number', '1'],
  ['rate_ramp_minutes', 'number', '1'],
  ['rate_ramp_max', 'number', '1'],
  ['require_consent', 'bool'],
  ['consent_retry', 'number', '1'],
];

// A field's value as the form shows it: lists comma-separated.
function fieldText(r, k) {
  const v = r[k] ?? '';
  return Array.isArray(v) ? v.join(',') : String(v);
}

function policyInput(r, [k, type, arg]) {
  const id = `policy-${k}`;
  const v = fieldText(r, k);
  const options = type === 'bool' ? ['false', 'true'] : arg;
  const input = type === 'select' || type === 'bool'
    ? h('select', { id }, options.map(o => h('option', { value: o,
      selected: o === v }, o)))
    : h('input', { id, type: type === 'number' ? 'number' : 'text',
      step: arg, value: v, size: 24 });
  return h('div', {}, h('label', { for: id }, k.replaceAll('_', ' ')), ' ',
    input);
}

// The fields that differ from the rollout, typed as the API wants them.
function policyChanges(r) {
  const body = {};
  for (const [k, type] of FIELDS) {
    const raw = document.getElementById(`policy-${k}`).value.trim();
    if (raw === fieldText(r, k)) continue;
    const items = raw === '' ? [] : raw.split(',').map(x => x.trim());
    if (type === 'number') body[k] = raw === '' ? null : Number(raw);
    else if (type === 'list') body[k] = items;
    else if (type === 'codes') body[k] = items.map(Number);
    else if (type === 'bool') body[k] = raw === 'true';
    else if (k === 'start_at' || k === 'forced_at')
      body[k] = raw === '' ? null : raw;
    else body[k] = raw;
  }
  return body;
}

function policyForm(ctx, el, r, refresh) {
  const form = h('form#policy-form', {}, FIELDS.map(f => policyInput(r, f)),
    h('div.buttons', {}, h('button#policy-cancel', { type: 'button',
      onclick: () => {
        form.remove();
        refresh().catch(ctx.showError);
      } }, 'Cancel'), h('button#policy-save', { type: 'submit' }, 'Save')));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const body = policyChanges(r);
    const what = Object.entries(body).map(([k, v]) =>
      `${k}: ${JSON.stringify(r[k])} → ${JSON.stringify(v)}`).join('; ');
    const ok = await ctx.confirm(`Edit the policy of rollout #${r.id}?`,
      what || 'Nothing changes (the server will say so).', false);
    if (ok === null) return;
    try {
      await api.patch(`rollouts/${r.id}`, body);
      ctx.hideError();
      form.remove();
    } catch (e) {
      ctx.showError(e);
      return;
    }
    await refresh().catch(ctx.showError);
  });
  clear(el).append(form);
}

function drawActions(ctx, el, r, refresh) {
  clear(el);
  if (!ctx.can('release')) return;
  for (const a of ACTIONS[r.state] || []) {
    el.append(h(`button.action.${a}`, { id: `action-${a}`, type: 'button',
      onclick: () => act(ctx, r, a, refresh) }, a));
  }
}

async function act(ctx, r, action, refresh) {
  const what = action === 'advance'
    ? `Move rollout #${r.id} from stage ${r.stage_index + 1} to the next.`
    : `${action[0].toUpperCase()}${action.slice(1)} rollout #${r.id}.`;
  const reason = await ctx.confirm(`${action} rollout #${r.id}?`, what);
  if (reason === null) return;
  const body = { reason };
  if (action === 'advance') body.stage_index = r.stage_index;
  try {
    await api.post(`rollouts/${r.id}/${action}`, body);
    ctx.hideError();
  } catch (e) {
    ctx.showError(e);
  }
  await refresh().catch(ctx.showError);
}

const FUNNEL = ['targeted', 'in_stage', 'offered', 'awaiting_consent',
  'accepted', 'declined', 'deferred', 'started', 'in_progress', 'completed',
  'failed', 'reverted', 'timed_out', 'canceled', 'retries'];

function failedBy(st) {
  const e = Object.entries(st.failed_by_result || {});
  if (e.length === 0) return '—';
  return e.map(([code, n]) => `${n} × ${code} (${LWM2M[code] || 'other'})`)
    .join(', ');
}

function drawFunnel(el, r, hl) {
  const rows = hl.stages.map(st => ({ ...st, name: `${st.index + 1}: `
    + `${st.percent}%${st.index === r.stage_index ? ' (current)' : ''}` }));
  rows.push({ ...hl.total, name: 'total', index: 'total' });
  clear(el).append(table([
    { title: 'Stage', cell: st => st.name },
    ...FUNNEL.map(f => ({ title: f.replace('_', ' '), cls: 'num',
      cell: st => h('span', { dataset: { stage: st.index, field: f } },
        fmtNum(st[f])) })),
    { title: 'failure rate', cls: 'num', cell: st => h('span', {
      dataset: { stage: st.index, field: 'failure_rate' } },
      fmtPct(st.failure_rate)) },
    { title: 'failed by LwM2M result', cell: failedBy },
  ], rows, { class: 'funnel' }));
  // A large fleet's walk over the targeted devices is given again for a
  // while (docs/health.md): say how old targeted and in_stage are.
  const age = Math.round((Date.now() - Date.parse(hl.targeted_at)) / 1000);
  if (age >= 5)
    el.append(h('p.legend', { id: 'targeted-at' }, 'targeted and in stage'
      + ` counted ${age} s ago (${fmtTime(hl.targeted_at)}); the reports`
      + ' are live'));
}

function drawSeries(el, se) {
  const points = se.buckets.map(b => ({ t: b.start.replace('T', ' ')
    .replace(':00Z', ''), rate: b.failure_rate_total }));
  clear(el).append(rateLine(points, se.failure_threshold,
    'cumulative failure rate against the threshold'),
  h('p.legend', {}, h('span.key.rate'), ' failure rate of finished updates'
    + ' (cumulative, by device time) ', h('span.key.threshold'),
  ` threshold ${fmtPct(se.failure_threshold)}`));
}

function drawAudit(el, au) {
  clear(el).append(table([
    { title: 'At', cell: e => fmtTime(e.at) },
    { title: 'Action', cell: e => e.action },
    { title: 'By', cell: e => e.actor },
    { title: 'State', cell: e => `${e.from_state ?? '—'} → ${e.to_state}` },
    { title: 'Stage', cell: e => e.stage_index + 1, cls: 'num' },
    { title: 'Reason', cell: e => e.reason || '—' },
  ], au.events.slice().reverse(), { id: 'audit-table' }));
}

