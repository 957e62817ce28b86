// app.js: sign-in, the role, hash routing, errors and confirmations.
// Pages live in their own modules; each gets a context (ctx) and fills
// #page.  Routes: #/fleet, #/rollouts, #/rollouts/ID, #/images,
// #/images/ID, #/bundles, #/bundles/ID, #/devices, #/devices/ID (a query
// after "?" filters).
import * as api from './api.js';
import { clear, h } from './dom.js';
import * as fleet from './fleet.js';
import * as rollouts from './rollouts.js';
import * as images from './images.js';
import * as bundles from './bundles.js';
import * as devices from './devices.js';

const ROLES = { viewer: 1, release: 2, admin: 3 };
const $ = id => document.getElementById(id);

let me = null;           // {kind, role, name} from GET /api/v1/whoami
let leaving = [];        // what the current page stops when left
let generation = 0;      // bumps on every route: late answers are dropped

function showError(e) {
  const err = e instanceof api.ApiError ? e
    : new api.ApiError(0, 'client_error', String(e && e.message || e));
  $('error-code').textContent = err.error;
  $('error-detail').textContent = err.detail;
  $('error').hidden = false;
  if (err.status === 401) signOut('the token was refused: ' + err.detail);
}

function hideError() {
  $('error').hidden = true;
}

// Asks for a confirmation and (unless needReason is false) a reason;
// resolves to the reason ('' without one), or null when cancelled.
function confirmAction(title, text, needReason = true) {
  const dlg = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-reason').value = '';
  $('confirm-reason').required = needReason;
  $('confirm-reason-field').hidden = !needReason;
  return new Promise(resolve => {
    const done = v => {
      $('confirm-form').removeEventListener('submit', ok);
      $('confirm-cancel').removeEventListener('click', cancel);
      dlg.removeEventListener('cancel', cancel);
      if (dlg.open) dlg.close();
      resolve(v);
    };
    const ok = ev => {
      ev.preventDefault();
      const r = $('confirm-reason').value.trim();
      if (!r && needReason) {
        $('confirm-reason').focus();
        return;
      }
      done(r);
    };
    const cancel = ev => {
      ev.preventDefault();
      done(null);
    };
    $('confirm-form').addEventListener('submit', ok);
    $('confirm-cancel').addEventListener('click', cancel);
    dlg.addEventListener('cancel', cancel);
    dlg.showModal();
    $(needReason ? 'confirm-reason' : 'confirm-ok').focus();
  });
}

function context(gen) {
  return {
    me,
    // release and admin act on rollouts; viewers only read.
    can: role => me !== null && ROLES[me.role] >= ROLES[role],
    showError,
    hideError,
    confirm: confirmAction,
    live: () => gen === generation,
    onLeave: fn => leaving.push(fn),
    page: $('page'),
  };
}

// The pages whose detail is addressed by a number.
const numericIds = new Set(['rollouts', 'images', 'bundles']);

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(qs || '') };
}

async function route() {
  for (const fn of leaving) fn();
  leaving = [];
  generation++;
  hideError();
  if (!me) return;
  const { parts, query } = parseHash();
  const page = parts[0] || 'fleet';
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', a.dataset.page === page);
  const ctx = context(generation);
  clear(ctx.page);
  const pages = { fleet, rollouts, images, bundles, devices };
  const mod = pages[page];
  if (!mod) {
    ctx.page.append(h('p', {}, 'No such page: ', page));
    return;
  }
  // These pages' ids go into API paths: only digits, so that an address
  // such as #/images/..%2Fkeys never sends the token to another route.
  if (parts[1] !== undefined && numericIds.has(page) &&
      !/^\d+$/.test(parts[1])) {
    showError(new api.ApiError(0, 'bad_address',
      `no such ${page.slice(0, -1)} id: ${parts[1]}`));
    return;
  }
  try {
    await mod.render(ctx, parts[1], query);
  } catch (e) {
    if (ctx.live()) showError(e);
  }
}

function signedIn() {
  $('signin').hidden = true;
  $('nav').hidden = false;
  $('signout').hidden = false;
  $('who').textContent = `${me.name} (${me.role})`;
  document.body.dataset.role = me.role;
  route();
}

function signOut(why) {
  api.clearToken();
  me = null;
  for (const fn of leaving) fn();
  leaving = [];
  clear($('page'));
  $('nav').hidden = true;
  $('signout').hidden = true;
  $('who').textContent = why ? `Signed out: ${why}` : '';
  delete document.body.dataset.role;
  $('signin').hidden = false;
  $('token').focus();
}

async function whoami() {
  me = await api.get('whoami');
  signedIn();
}

async function signIn(ev) {
  ev.preventDefault();
  const t = $('token').value.trim();
  $('token').value = '';
  if (!t) return;
  api.setToken(t);
  try {
    await whoami();
    hideError();
  } catch (e) {
    api.clearToken();
    showError(e);
  }
}

function start() {
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', () => signOut());
  $('error-close').addEventListener('click', hideError);
  window.addEventListener('hashchange', route);
  if (api.token()) whoami().catch(e => {
    showError(e);
    signOut();
  });
  else signOut();
}

start();
