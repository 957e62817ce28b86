// images.js: the images list and an image's page: its signed descriptor,
// the signatures and their signers, the metadata read from the binary, and
// the rollouts that use it.
import * as api from './api.js';
import { append, fmtNum, fmtTime, h, pre, table } from './dom.js';

const PAGE = 50;

export async function render(ctx, id) {
  return id ? detail(ctx, id) : list(ctx);
}

async function list(ctx) {
  const body = h('tbody');
  const more = h('button#images-more', { type: 'button', hidden: true },
    'More');
  append(ctx.page, h('h1', {}, 'Images'),
    h('table#images', {}, h('thead', {}, h('tr', {},
      ['Id', 'Name', 'Version', 'Hardware', 'Size', 'Signed by', 'Uploaded']
        .map(t => h('th', {}, t)))), body), more);
  let after = null;
  const load = async () => {
    const page = await api.get('images', { after, limit: PAGE });
    if (!ctx.live()) return;
    for (const im of page.images)
      body.append(h('tr', {},
        h('td', {}, h('a', { href: `#/images/${im.id}` }, `#${im.id}`)),
        h('td', {}, im.name), h('td', {}, im.version),
        h('td', {}, im.hardware.join(', ')),
        h('td.num', {}, fmtNum(im.size)),
        h('td', {}, (im.signatures || []).map(s => s.keyid).join(', ')),
        h('td', {}, `${fmtTime(im.created_at)} by ${im.created_by}`)));
    after = page.next_after;
    more.hidden = after === null;
  };
  more.addEventListener('click', () => load().catch(ctx.showError));
  await load();
}

// The descriptor as signed: base64 of the exact bytes.
export function descriptor(b64) {
  try {
    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    const text = new TextDecoder().decode(bytes);
    try {
      return pre(JSON.parse(text));
    } catch (e) {
      return h('pre.json', {}, text);
    }
  } catch (e) {
    return h('p', {}, '(not readable)');
  }
}

async function detail(ctx, id) {
  const [im, ro] = await Promise.all([api.get(`images/${id}`),
    api.get('rollouts', { image: id, limit: 100 })]);
  if (!ctx.live()) return;
  append(ctx.page, h('p', {}, h('a', { href: '#/images' }, '← Images')),
    h('h1', {}, `${im.name} ${im.version}`),
    h('dl.facts#image-facts', {},
      h('dt', {}, 'Id'), h('dd', {}, im.id),
      h('dt', {}, 'Hardware'), h('dd', {}, im.hardware.join(', ')),
      h('dt', {}, 'Size'), h('dd', {}, `${fmtNum(im.size)} bytes`),
      h('dt', {}, 'SHA-256'), h('dd.mono', {}, im.sha256),
      h('dt', {}, 'Minimum version'), h('dd', {}, im.min_version ?? '—'),
      h('dt', {}, 'Security counter'), h('dd', {},
        im.security_counter ?? '—'),
      h('dt', {}, 'File name'), h('dd', {}, im.filename ?? '—'),
      h('dt', {}, 'Uploaded'), h('dd', {}, `${fmtTime(im.created_at)} by `
        + im.created_by)),
    h('h2', {}, 'Signatures'),
    table([
      { title: 'Signer (key id)', cell: s => s.keyid },
      { title: 'Signature (Ed25519, base64)', cell: s => h('span.mono', {},
        s.sig), cls: 'wrap' },
    ], im.signatures || [], { id: 'signatures' }),
    h('h2', {}, 'Descriptor (as signed)'), descriptor(im.descriptor),
    h('h2', {}, 'Metadata read from the binary'),
    im.embedded ? pre(im.embedded) : h('p', {}, 'none recognised'),
    h('h2', {}, 'Rollouts using it'),
    ro.rollouts.length === 0 ? h('p', {}, 'none') : table([
      { title: 'Rollout', cell: r => h('a', { href: `#/rollouts/${r.id}` },
        `#${r.id}${r.name ? ' ' + r.name : ''}`) },
      { title: 'State', cell: r => r.state },
      { title: 'Stage', cell: r => `${r.stage_index + 1}/${r.stages.length}` },
      { title: 'Groups', cell: r => r.groups.join(', ') },
    ], ro.rollouts, { id: 'image-rollouts' }),
    ro.next_after !== null ? h('p.note', {}, h('a', {
      href: '#/rollouts' }, 'more in the rollouts list')) : null);
}
