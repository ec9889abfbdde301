// Sync conflicts: both values side by side with who wrote them, when and on
// which device; the clerk takes one or writes a merged value. Resolving is a
// command through the same write path as every other change.
import { api, get, newID } from './api.js';
import { t } from './i18n.js';
import { h, mount, field, fmtTime, shortID, toast } from './util.js';
import { deviceName } from './ref.js';

function who(a) {
  const name = a.name || t('who.unknown');
  const role = a.role ? ` (${t(`role.${a.role}`)})` : '';
  return h('div', { class: 'who small' },
    h('div', {}, name + role),
    h('div', { class: 'muted' }, a.device_id ? t('hist.device', { d: deviceName(a.device_id) }) : t('hist.console')),
    h('div', { class: 'muted' }, a.at ? fmtTime(a.at, true) : '', ` · v${a.version}`));
}

/** conflictCard shows one conflict with its resolve controls; done runs after a resolution. */
export function conflictCard(cf, done) {
  const err = h('div', { class: 'form-error', role: 'alert' });
  const comment = h('input', { type: 'text', name: 'comment' });
  const merged = h('textarea', { name: 'value', rows: 2 }, cf.kept);
  merged.value = cf.kept;
  const resolve = async (take, value) => {
    try {
      await api('POST', `/conflicts/${cf.id}/resolve`, { take, value, comment: comment.value.trim() || undefined, command_id: newID() });
      toast(t('conflicts.resolved'));
      await done();
    } catch (e) { mount(err, e.message, e.hint ? h('div', { class: 'hint' }, e.hint) : null); }
  };
  const side = (title, value, by, take, cls) => h('div', { class: `cf-side ${cls}` },
    h('h4', {}, title), h('pre', { class: 'cf-value' }, value === '' ? '∅' : value), who(by),
    cf.status === 'open' && cf.kind === 'field'
      ? h('button', { type: 'button', class: 'primary', dataset: { take }, onclick: () => resolve(take) }, t('conflicts.take'))
      : null);
  const mergeForm = h('form', { class: 'cf-merge' }, field(t('conflicts.merged'), merged),
    h('button', { type: 'submit', dataset: { take: 'new' } }, t('conflicts.merge')));
  mergeForm.addEventListener('submit', (ev) => { ev.preventDefault(); resolve('new', merged.value); });
  const ack = cf.kind !== 'field' && cf.status === 'open'
    ? h('button', { type: 'button', class: 'primary', dataset: { take: 'kept' }, onclick: () => resolve('kept') }, t('conflicts.take'))
    : null;
  return h('div', { class: 'conflict', dataset: { id: cf.id, field: cf.field || '' }, role: 'group', 'aria-label': `${t('conflicts.field')} ${cf.field ? t(`field.${cf.field}`) : t(`conflicts.kind.${cf.kind}`)}` },
    h('div', { class: 'cf-head' },
      h('a', { href: `#/cases/${cf.case_id}` }, t('conflicts.case'), ' ', h('code', {}, shortID(cf.case_id))), ' · ',
      t('conflicts.field'), ' ', cf.field ? [t(`field.${cf.field}`), ' ', h('code', {}, cf.field)] : '—', ' · ', t(`conflicts.kind.${cf.kind}`), ' · ',
      h('span', { class: 'muted' }, `${t('conflicts.base')}: ${cf.base === '' ? '∅' : cf.base}`), ' · ',
      h('span', { class: 'muted' }, fmtTime(cf.created_at))),
    h('div', { class: 'cf-sides' },
      side(t('conflicts.kept'), cf.kept, cf.kept_by, 'kept', 'kept'),
      side(t('conflicts.set_aside'), cf.set_aside, cf.set_aside_by, 'set_aside', 'set-aside')),
    cf.status === 'open' ? h('div', { class: 'cf-resolve' }, cf.kind === 'field' ? mergeForm : ack, field(t('conflicts.comment'), comment)) : null,
    err);
}

/** renderConflicts lists the open conflicts in the caller's scope. */
export async function renderConflicts(main) {
  const list = h('div', { class: 'conflicts' }, h('p', { role: 'status' }, t('loading')));
  mount(main, h('section', { class: 'page', 'aria-labelledby': 'cfl-title' }, h('h1', { id: 'cfl-title' }, t('conflicts.title')), list));
  const load = async () => {
    const res = await get('/conflicts', { status: 'open' });
    mount(list, res.items.length ? res.items.map((cf) => conflictCard(cf, load)) : h('p', { class: 'empty' }, t('conflicts.empty')));
  };
  await load();
}

