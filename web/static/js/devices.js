// Devices: the sync health of each enrolled tablet, enrolment (the token is
// shown once, as text and as a QR code drawn in the browser) and revocation.
/* global qrcode */
import { api, get } from './api.js';
import { t } from './i18n.js';
import { h, mount, field, fmtTime, fmtDuration, toast } from './util.js';
import { ref, refreshDevices } from './ref.js';

/** qrSVG draws text as a QR code (inline SVG), with the vendored qrcode-generator. */
export function qrSVG(text) {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const q = 4; // quiet zone
  const size = n + 2 * q;
  let d = '';
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c + q} ${r + q}h1v1h-1z`;
  return h('svg:svg', { viewBox: `0 0 ${size} ${size}`, width: 220, height: 220, role: 'img', 'aria-label': 'QR', class: 'qr', 'shape-rendering': 'crispEdges' },
    h('svg:rect', { width: size, height: size, fill: '#fff' }), h('svg:path', { d, fill: '#000' }));
}

function ago(iso) {
  if (!iso) return t('devices.never');
  return fmtTime(iso, true);
}

function offset(ms) {
  if (!ms) return '0';
  const s = Math.round(ms / 1000);
  return Math.abs(s) < 60 ? `${s > 0 ? '+' : ''}${s}s` : `${ms > 0 ? '+' : '−'}${fmtDuration(ms)}`;
}

/** renderDevices draws the device list and, for supervisors and admins, enrolment. */
export async function renderDevices(main) {
  const tbody = h('tbody', {});
  const canManage = ['supervisor', 'admin'].includes(ref.me.user.role);
  const tokenBox = h('div', { class: 'token-box', 'aria-live': 'polite' });
  const draw = (items) => {
    mount(tbody, items.map((d) => h('tr', { dataset: { id: d.id }, class: d.revoked_at ? 'revoked' : '' },
      h('th', { scope: 'row' }, d.name), h('td', {}, d.username || ''),
      h('td', {}, ago(d.last_push_at)), h('td', {}, ago(d.last_pull_at)),
      h('td', { class: d.pending_acks ? 'warn' : '' }, String(d.pending_acks)),
      h('td', { class: d.rejected ? 'warn' : '' }, String(d.rejected)),
      h('td', { class: d.conflicted ? 'warn' : '' }, String(d.conflicted)),
      h('td', { class: d.clock_skewed ? 'dl-over' : '' }, offset(d.clock_offset_ms), d.clock_skewed ? ` (${t('devices.skewed')})` : ''),
      h('td', {}, d.app_version || ''),
      h('td', {}, d.revoked_at ? `${t('devices.revoked')} ${fmtTime(d.revoked_at)}`
        : canManage ? h('button', { type: 'button', class: 'danger', onclick: () => revoke(d) }, t('devices.revoke')) : ''))));
  };
  const load = async () => {
    const res = await get('/devices');
    refreshDevices(res.items);
    draw(res.items);
  };
  const revoke = async (d) => {
    if (!window.confirm(t('devices.confirm_revoke', { n: d.name }))) return;
    try {
      await api('POST', `/devices/${d.id}/revoke`, {});
      await load();
    } catch (e) { toast(e.message, 'err'); }
  };
  let enrol = null;
  if (canManage) {
    const user = h('input', { type: 'text', name: 'username', required: true, autocomplete: 'off' });
    const name = h('input', { type: 'text', name: 'name', required: true, autocomplete: 'off' });
    const err = h('div', { class: 'form-error', role: 'alert' });
    enrol = h('form', { class: 'enrol', 'aria-labelledby': 'enrol-title' }, h('h2', { id: 'enrol-title' }, t('devices.enrol')),
      h('div', { class: 'filter-grid' }, field(t('devices.enrol_user'), user), field(t('devices.enrol_name'), name)),
      err, h('button', { type: 'submit', class: 'primary' }, t('devices.enrol_submit')), tokenBox);
    enrol.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      mount(err);
      try {
        const res = await api('POST', '/devices', { username: user.value.trim(), name: name.value.trim() });
        mount(tokenBox, h('p', { class: 'notice' }, t('devices.token_once')),
          h('div', { class: 'token-row' }, qrSVG(res.token), h('code', { class: 'token', id: 'device-token' }, res.token)));
        tokenBox.scrollIntoView({ block: 'center' });
        user.value = ''; name.value = '';
        await load();
      } catch (e) { mount(err, e.message); }
    });
  }
  mount(main, h('section', { class: 'page', 'aria-labelledby': 'dev-title' }, h('h1', { id: 'dev-title' }, t('devices.title')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'devices' }, h('thead', {}, h('tr', {},
      ['devices.name', 'devices.user', 'devices.last_push', 'devices.last_pull', 'devices.pending', 'devices.rejected',
        'devices.conflicted', 'devices.offset', 'devices.app', 'devices.revoke'].map((k) => h('th', { scope: 'col' }, t(k))))), tbody)),
    enrol));
  await load();
}
