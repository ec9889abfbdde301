// The console's shell: login, navigation, language switch and a hash router
// (#/cases, #/cases/:id, #/new, #/conflicts, #/map, #/stats, #/devices, #/audit), so
// the server serves only static files and every view has a URL.
import { get, login, logout, forget, csrfToken, setUnauthenticatedHandler, ApiError } from './api.js';
import { t, setLang, getLang } from './i18n.js';
import { h, mount, field, toast } from './util.js';
import { ref, loadRef } from './ref.js';
import { renderCases } from './cases.js';
import { renderDetail } from './detail.js';
import { renderConflicts } from './conflicts.js';
import { renderMap } from './map.js';
import { renderStats } from './stats.js';
import { renderDevices } from './devices.js';
import { renderAudit } from './audit.js';
import { renderNewCase, canCreateCase } from './newcase.js';

const root = document.getElementById('app');
let main = null;
let navEl = null;
let lastCasesHash = '#/cases';

function nav(hash) {
  // Not ready from this moment: the hashchange that routes comes later.
  if (main) main.dataset.ready = 'false';
  if (location.hash === hash) route(); else location.hash = hash;
}

const VIEWS = [
  ['cases', 'nav.cases'], ['new', 'nav.new', canCreateCase], ['conflicts', 'nav.conflicts'], ['map', 'nav.map'], ['stats', 'nav.stats'],
  ['devices', 'nav.devices'], ['audit', 'nav.audit'],
];

function langButton() {
  return h('button', { type: 'button', class: 'lang', 'aria-label': t('lang.label'), lang: getLang() === 'en' ? 'zh-CN' : 'en',
    onclick: () => { setLang(getLang() === 'en' ? 'zh-CN' : 'en'); start(); } }, t('lang.switch'));
}

function showLogin(message) {
  document.title = `${t('login.title')} — fieldsync`;
  const user = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, id: 'login-username' });
  const pass = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, id: 'login-password' });
  const err = h('div', { class: 'form-error', role: 'alert', id: 'login-error' }, message || '');
  const form = h('form', { class: 'login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, t('app.title')),
    h('h2', {}, t('login.title')),
    field(t('login.username'), user), field(t('login.password'), pass), err,
    h('button', { type: 'submit', class: 'primary', id: 'login-submit' }, t('login.submit')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    mount(err);
    try {
      await login(user.value.trim(), pass.value);
      await start();
    } catch (e) {
      mount(err, e instanceof ApiError && e.code === 'invalid_credentials' ? t('login.failed') : e.message);
      pass.select();
    }
  });
  mount(root, h('main', { class: 'login-page' }, h('div', { class: 'login-top' }, langButton()), form));
  user.focus();
}

function shell(me) {
  navEl = h('nav', { class: 'topnav', 'aria-label': t('nav.main') },
    h('ul', {}, VIEWS.filter(([, , may]) => !may || may(me)).map(([v, key]) => h('li', {}, h('a', { href: `#/${v}`, dataset: { view: v } }, t(key))))));
  main = h('main', { id: 'main', tabindex: '-1' });
  mount(root,
    h('a', { href: '#main', class: 'skip', onclick: (ev) => { ev.preventDefault(); main.focus(); } }, t('app.skip')),
    h('header', { class: 'top' },
      h('div', { class: 'brand' }, t('app.title')),
      navEl,
      h('div', { class: 'user' },
        h('span', { id: 'whoami' }, `${me.user.name || me.user.username} · ${t(`role.${me.user.role}`)}`),
        langButton(),
        h('button', { type: 'button', id: 'logout', onclick: async () => { await logout(); showLogin(); } }, t('logout')))),
    main,
    h('div', { id: 'toast', class: 'toasts', 'aria-live': 'polite' }));
}

// Routes run one at a time and only the newest one asked for renders: two
// quick hash changes must not let the older view's late answer overwrite
// the newer one.
let routing = Promise.resolve();
let wanted = 0;
function route() {
  const mine = ++wanted;
  if (main) main.dataset.ready = 'false';
  routing = routing.then(() => (mine === wanted ? renderRoute(mine) : undefined));
  return routing;
}

async function renderRoute(mine) {
  const m = main;
  if (!m) return;
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean);
  const params = new URLSearchParams(qs || '');
  const view = parts[0] || 'cases';
  for (const a of navEl.querySelectorAll('a')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.title = `${t(`nav.${view}`)} — fieldsync`;
  m.dataset.view = view;
  m.dataset.ready = 'false';
  try {
    switch (view) {
      case 'cases':
        if (parts[1]) await renderDetail(main, parts[1], nav);
        else { lastCasesHash = location.hash || '#/cases'; await renderCases(main, params, nav); }
        break;
      case 'new': await renderNewCase(main, nav); break;
      case 'conflicts': await renderConflicts(main); break;
      case 'map': await renderMap(main, params.toString() ? params : new URLSearchParams(lastCasesHash.split('?')[1] || '')); break;
      case 'stats': await renderStats(main, params, nav); break;
      case 'devices': await renderDevices(main); break;
      case 'audit': await renderAudit(main, params, nav); break;
      default: nav('#/cases');
    }
  } catch (e) {
    if (e instanceof ApiError && (e.code === 'unauthenticated' || e.code === 'invalid_token')) return;
    console.error(e); // eslint-disable-line no-console
    mount(m, h('div', { class: 'error', role: 'alert' }, h('h1', {}, t('error')), h('p', {}, e.message || String(e))));
  }
  if (mine === wanted) m.dataset.ready = 'true';
}

async function start() {
  document.documentElement.lang = getLang();
  main = null;
  if (!csrfToken()) { showLogin(); return; }
  let me;
  try {
    me = await get('/me', undefined, { quiet401: true });
  } catch (e) {
    forget();
    showLogin(e instanceof ApiError && e.status === 401 ? t('login.expired') : '');
    return;
  }
  await loadRef(me);
  shell(me);
  await route();
}

setUnauthenticatedHandler(() => {
  forget();
  main = null;
  showLogin(t('login.expired'));
});
window.addEventListener('hashchange', () => { route(); });
document.addEventListener('keydown', (ev) => {
  // "/" jumps to the text search of the case list, as in many consoles.
  if (ev.key === '/' && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName || '')) {
    const q = document.querySelector('input[name="q"]');
    if (q) { ev.preventDefault(); q.focus(); }
  }
});
start().catch((e) => toast(e.message, 'err'));

export { ref };
