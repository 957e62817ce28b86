// bundles.js: the release bundles list (the cursor of GET /api/v1/bundles)
// and a bundle's page: its signed descriptor, the signatures and their
// signers, its parts in install order, and the rollouts that ship it.
import * as api from './api.js';
import { append, fmtTime, h, table } from './dom.js';
import { descriptor } from './images.js';
import { partsTable } from './rollouts.js';

const PAGE = 50;

export async function render(ctx, id) {
  return id ? detail(ctx, id) : list(ctx);
}

async function list(ctx) {
  const body = h('tbody');
  const more = h('button#bundles-more', { type: 'button', hidden: true },
    'More');
  append(ctx.page, h('h1', {}, 'Bundles'),
    h('table#bundles', {}, h('thead', {}, h('tr', {},
      ['Id', 'Name', 'Version', 'Parts', 'Signed by', 'Uploaded']
        .map(t => h('th', {}, t)))), body), more);
  let after = null;
  const load = async () => {
    const page = await api.get('bundles', { after, limit: PAGE });
    if (!ctx.live()) return;
    for (const b of page.bundles)
      body.append(h('tr', {},
        h('td', {}, h('a', { href: `#/bundles/${b.id}` }, `#${b.id}`)),
        h('td', {}, b.name), h('td', {}, b.version),
        h('td', {}, b.parts.map(p => p.component).join(', ')),
        h('td', {}, (b.signatures || []).map(s => s.keyid).join(', ')),
        h('td', {}, `${fmtTime(b.created_at)} by ${b.created_by}`)));
    after = page.next_after;
    more.hidden = after === null;
  };
  more.addEventListener('click', () => load().catch(ctx.showError));
  await load();
}

// The rollouts shipping bundle id: the list has no bundle filter, so the
// pages are read and filtered here (bounded: at most 10 pages).
async function rolloutsOf(id) {
  const out = [];
  let after = null;
  for (let i = 0; i < 10; i++) {
    const p = await api.get('rollouts', { after, limit: 1000 });
    out.push(...p.rollouts.filter(r => r.bundle && r.bundle.id === id));
    after = p.next_after;
    if (after === null) break;
  }
  return out;
}

async function detail(ctx, id) {
  const [b, ro] = await Promise.all([api.get(`bundles/${id}`),
    rolloutsOf(Number(id))]);
  if (!ctx.live()) return;
  append(ctx.page, h('p', {}, h('a', { href: '#/bundles' }, '← Bundles')),
    h('h1', {}, `Bundle ${b.name} ${b.version}`),
    h('dl.facts#bundle-facts', {},
      h('dt', {}, 'Id'), h('dd', {}, b.id),
      h('dt', {}, 'Parts'), h('dd', {}, b.parts.length),
      h('dt', {}, 'Uploaded'), h('dd', {}, `${fmtTime(b.created_at)} by `
        + b.created_by)),
    h('h2', {}, 'Parts (install order)'), partsTable(b, { id: 'bundle-parts' }),
    h('h2', {}, 'Signatures'),
    table([
      { title: 'Signer (key id)', cell: s => s.keyid },
      { title: 'Signature (Ed25519, base64)', cell: s => h('span.mono', {},
        s.sig), cls: 'wrap' },
    ], b.signatures || [], { id: 'bundle-signatures' }),
    h('h2', {}, 'Descriptor (as signed)'), descriptor(b.descriptor),
    h('h2', {}, 'Rollouts shipping it'),
    ro.length === 0 ? h('p', {}, 'none') : table([
      { title: 'Rollout', cell: r => h('a', { href: `#/rollouts/${r.id}` },
        `#${r.id}${r.name ? ' ' + r.name : ''}`) },
      { title: 'State', cell: r => r.state },
      { title: 'Stage', cell: r => `${r.stage_index + 1}/${r.stages.length}` },
      { title: 'Groups', cell: r => r.groups.join(', ') },
    ], ro, { id: 'bundle-rollouts' }));
}
