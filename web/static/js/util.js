// DOM and formatting helpers. Text always goes in through textContent, never
// innerHTML, so case data cannot inject markup.
import { t, getLang } from './i18n.js';

/**
 * h builds an element. attrs: plain attributes, `on*` functions become event
 * listeners, `class`, `dataset` and boolean attributes work as expected;
 * children are nodes, strings or arrays of them (null and false are skipped).
 */
export function h(tag, attrs, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && !svg) el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden' || k === 'required' || k === 'multiple') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** clear empties an element and appends children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** id returns a fresh element id for label/for pairs. */
export function id(prefix = 'f') { uid += 1; return `${prefix}-${uid}`; }

/** field wraps a control with its label. */
export function field(label, control, extra) {
  if (!control.id) control.id = id();
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, extra);
}

/** select builds a <select> from [value, label] pairs. */
export function select(name, options, value, attrs) {
  return h('select', { name, ...attrs },
    options.map(([v, l]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, l)));
}

const tz = 'Asia/Shanghai';

/** fmtTime formats an ISO time in China time, to the minute. */
export function fmtTime(iso, withSeconds) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const opts = { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false };
  if (withSeconds) opts.second = '2-digit';
  return new Intl.DateTimeFormat(getLang() === 'en' ? 'en-CA' : 'zh-CN', opts).format(d);
}

/** fmtDuration formats a duration in ms as days, hours and minutes (two units at most). */
export function fmtDuration(ms) {
  let m = Math.floor(Math.abs(ms) / 60000);
  const d = Math.floor(m / 1440); m -= d * 1440;
  const hh = Math.floor(m / 60); m -= hh * 60;
  const parts = [];
  if (d) parts.push(t('dur.d', { n: d }));
  if (hh || d) parts.push(t('dur.h', { n: hh }));
  if (!d) parts.push(t('dur.m', { n: m }));
  return parts.slice(0, 2).join(getLang() === 'en' ? ' ' : '');
}

/**
 * deadlineInfo describes a case's deadline at now: its text and a class
 * (overdue, soon within 4 hours, ok, none) for the overdue colour.
 */
export function deadlineInfo(c, now = Date.now()) {
  if (!c.deadline || c.state === 'closed' || c.state === 'voided') return { text: c.deadline ? fmtTime(c.deadline) : t('deadline.none'), cls: 'dl-none' };
  const left = new Date(c.deadline).getTime() - now;
  if (left < 0 || c.overdue) return { text: t('deadline.over', { d: fmtDuration(left) }), cls: 'dl-over' };
  return { text: t('deadline.left', { d: fmtDuration(left) }), cls: left < 4 * 3600e3 ? 'dl-soon' : 'dl-ok' };
}

/** haversine returns the great-circle distance in metres between two WGS84 points. */
export function haversine(lat1, lon1, lat2, lon2) {
  const R = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** photoPoint returns a photo's position: the device fix, else the EXIF one. */
export function photoPoint(p) {
  if (p.gps && (p.gps.lat || p.gps.lon)) return { lat: p.gps.lat, lon: p.gps.lon };
  if (p.exif && p.exif.lat != null && p.exif.lon != null) return { lat: p.exif.lat, lon: p.exif.lon };
  return null;
}

/** photoTime returns when a photo was taken: the EXIF time, else the device's capture time. */
export function photoTime(p) { return (p.exif && p.exif.taken_at) || p.captured_at || null; }

/** shortID shows the last 8 hex digits of a UUID: the random ones (a UUIDv7 starts with its time). */
export function shortID(u) { return u ? String(u).slice(-8) : ''; }

/** STATE_COLORS colour the states on the map and in badges. */
export const STATE_COLORS = {
  reported: '#1f6fd1', needs_info: '#b45309', verifying: '#7c3aed', registered: '#0e7490', dispatched: '#c2410c',
  returned: '#be123c', extension_pending: '#a16207', suspended: '#6b7280', handled: '#15803d', checking: '#0f766e',
  closed: '#374151', voided: '#9ca3af',
};

/** toast shows a short status message in the live region. */
export function toast(msg, kind = 'ok') {
  const box = document.getElementById('toast');
  if (!box) return;
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'err' ? 'alert' : 'status' }, msg);
  box.append(el);
  setTimeout(() => el.remove(), kind === 'err' ? 8000 : 4000);
}
