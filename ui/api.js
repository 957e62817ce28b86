// api.js: the one way the dashboard talks to otad.  The token lives in
// sessionStorage (this tab only) and goes in the Authorization header of
// same-origin requests; it is never put in a URL or logged.

const KEY = 'otad.token';

export class ApiError extends Error {
  constructor(status, error, detail) {
    super(`${error}: ${detail}`);
    this.status = status;
    this.error = error;
    this.detail = detail;
  }
}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(t) {
  sessionStorage.setItem(KEY, t);
}

export function clearToken() {
  sessionStorage.removeItem(KEY);
}

// Builds "/api/v1/<path>?<query>" with every query value encoded; empty
// values are left out.
export function url(path, query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `/api/v1/${path}${s ? '?' + s : ''}`;
}

// Sends a request; resolves to the parsed JSON body (null for 204), or
// rejects with an ApiError carrying the server's {error, detail}.
export async function call(method, path, query, body) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  const init = { method, headers, cache: 'no-store', credentials: 'omit',
    referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url(path, query), init);
  } catch (e) {
    throw new ApiError(0, 'network_error', String(e.message || e));
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  if (!resp.ok) {
    const err = json && json.error ? json.error : `http_${resp.status}`;
    const detail = json && json.detail ? json.detail : text.slice(0, 200);
    throw new ApiError(resp.status, err, detail);
  }
  return json;
}

export const get = (path, query) => call('GET', path, query);
export const post = (path, body) => call('POST', path, undefined, body);
export const patch = (path, body) => call('PATCH', path, undefined, body);
