// The console's HTTP client. The session lives in the HttpOnly cookie the
// login sets; the CSRF token from the login answer is kept in sessionStorage
// (it survives a reload of the tab, not the browser) and sent as X-CSRF-Token
// on every unsafe request, which the server demands of cookie-authenticated
// POST, PATCH and DELETE.

const BASE = '/api/v1';
const CSRF_KEY = 'fieldsync.csrf';

/** ApiError is a problem body (RFC 9457) the server answered with. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || '';
    this.hint = problem.hint || '';
    this.field = problem.field || '';
  }
}

let onUnauthenticated = () => {};

/** setUnauthenticatedHandler names what to do when the session is gone. */
export function setUnauthenticatedHandler(fn) { onUnauthenticated = fn; }

/** csrfToken returns the CSRF token of the current session, or ''. */
export function csrfToken() {
  try { return sessionStorage.getItem(CSRF_KEY) || ''; } catch { return ''; }
}

function setCSRF(tok) {
  try {
    if (tok) sessionStorage.setItem(CSRF_KEY, tok); else sessionStorage.removeItem(CSRF_KEY);
  } catch { /* storage off: the session lasts until reload */ }
}

/** api sends a request to /api/v1 and returns the decoded JSON (or null for 204). */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
  const res = await fetch(BASE + path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return null;
  const ct = res.headers.get('Content-Type') || '';
  const data = ct.includes('json') ? await res.json().catch(() => ({})) : await res.text();
  if (!res.ok) {
    const err = new ApiError(res.status, typeof data === 'object' ? data : { detail: String(data) });
    if (!opts.quiet401 && (err.code === 'unauthenticated' || err.code === 'invalid_token' || err.code === 'csrf_failed')) {
      onUnauthenticated(err);
    }
    throw err;
  }
  return data;
}

/** get is api('GET', ...) with query parameters from an object (empty values dropped). */
export function get(path, params, opts) {
  return api('GET', path + query(params), undefined, opts);
}

/** query encodes params as ?a=b&c=d, skipping empty values. */
export function query(params) {
  if (!params) return '';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** login signs in and keeps the CSRF token. */
export async function login(username, password) {
  const res = await api('POST', '/auth/login', { username, password }, { quiet401: true });
  setCSRF(res.csrf_token);
  return res;
}

/** logout ends the session on the server and forgets the CSRF token. */
export async function logout() {
  try { await api('POST', '/auth/logout', undefined, { quiet401: true }); } finally { setCSRF(''); }
}

/** forget drops the CSRF token (the session is gone). */
export function forget() { setCSRF(''); }

/** newID returns a UUIDv7 for idempotent command ids. */
export function newID() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  const ms = Date.now();
  for (let i = 0; i < 6; i++) b[i] = Math.floor(ms / 2 ** (8 * (5 - i))) & 0xff;
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
