// Case detail: the case, its actions (those the server says this role may
// take now), before/after comparison, photos, open conflicts and the
// timeline. Every change goes through POST /cases/:id/transitions or
// /comments with the version the clerk saw, so a case that changed meanwhile
// is refused rather than overwritten.
import { api, get, newID, ApiError } from './api.js';
import { t, stateLabel } from './i18n.js';
import { h, mount, field, select, fmtTime, fmtDuration, deadlineInfo, haversine, photoPoint, photoTime, shortID, toast } from './util.js';
import { ref, catName, orgName, unitName, segName, gridName, deviceName, userName, fieldUsers } from './ref.js';
import { stateBadge, caseFlags } from './cases.js';
import { conflictCard } from './conflicts.js';

const DISPOSITIONS = ['劝导整改', '责令限期改正', '首违不罚', '从轻/减轻处罚', '转执法立案', '移交其他部门', '设施维修完成'];
const VOID_REASONS = ['duplicate', 'not_real', 'out_of_scope', 'incomplete'];

// Reason and reply templates, by what they are for.
const TEMPLATES = {
  ask_more: ['请补充近景照片', '请补充远景照片，能看清周边环境', '请补充门牌或店招照片', '位置描述不清，请补充详细地址', '请补充当事人信息'],
  reject: ['重复上报', '现场核实不属实', '不属于城管职责范围', '信息不全，无法立案'],
  return: ['不属于本单位职责', '地址有误，无法找到现场', '需其他部门配合处置'],
  check_fail: ['整改不到位，请返工', '核查照片与原拍摄位置不符', '现场问题复现'],
  close: ['重复上报', '当事人已自行整改', '经协调已处置完毕'],
  dispatch: ['请按期处置并上传整改后照片', '请尽快处置，注意现场安全'],
  suspend: ['涉及产权纠纷，需待司法确认', '需上级部门协调'],
};

// FORMS lists what each action asks for. req: the guard refuses it without.
const FORMS = {
  ask_more: [{ k: 'comment', req: true, tpl: 'ask_more' }],
  send_verify: [{ k: 'assignee' }, { k: 'comment' }],
  register: [{ k: 'category' }, { k: 'deadline' }, { k: 'comment' }],
  void: [{ k: 'void_reason', req: true }, { k: 'comment', tpl: 'reject' }],
  void_registered: [{ k: 'reason', req: true, tpl: 'reject' }],
  dispatch: [{ k: 'unit', req: true }, { k: 'assignee' }, { k: 'deadline' }, { k: 'comment', tpl: 'dispatch' }],
  return: [{ k: 'reason', req: true, tpl: 'return' }],
  request_extension: [{ k: 'deadline', req: true }, { k: 'comment' }],
  request_suspend: [{ k: 'reason', req: true, tpl: 'suspend' }],
  approve: [{ k: 'comment' }],
  deny: [{ k: 'reason', req: true }],
  resume: [{ k: 'deadline', req: true }, { k: 'comment' }],
  report_done: [{ k: 'disposition' }, { k: 'comment' }],
  send_check: [{ k: 'assignee' }, { k: 'comment' }],
  check_pass: [{ k: 'disposition' }, { k: 'comment' }],
  check_fail: [{ k: 'reason', req: true, tpl: 'check_fail' }, { k: 'deadline' }],
  force_close: [{ k: 'reason', req: true, tpl: 'close' }, { k: 'disposition' }],
  escalate: [{ k: 'comment' }],
};

/** renderDetail draws case id into main. */
export async function renderDetail(main, caseID, nav) {
  mount(main, h('p', { role: 'status' }, t('loading')));
  let d;
  try {
    d = await get(`/cases/${encodeURIComponent(caseID)}`);
  } catch (e) {
    if (e instanceof ApiError && (e.code === 'not_found' || e.code === 'invalid_input')) {
      mount(main, h('div', { class: 'notfound', role: 'alert', id: 'not-found' }, h('h1', {}, t('notfound')),
        h('p', {}, h('a', { href: '#/cases' }, t('detail.back')))));
      return;
    }
    throw e;
  }
  const c = d.case;
  const reload = () => renderDetail(main, caseID, nav);
  const dl = deadlineInfo(c);
  const head = h('header', { class: 'detail-head' },
    h('a', { href: '#/cases', class: 'back' }, '← ', t('detail.back')),
    h('h1', { id: 'case-title' }, h('code', {}, shortID(c.id)), ' ', catName(c.category), ' ', stateBadge(c.state)),
    h('div', { class: 'head-meta' }, h('span', { class: dl.cls, id: 'deadline' }, dl.text), ' ', caseFlags(c),
      h('span', { class: 'muted' }, ` ${t('detail.version')} ${c.version}`)));
  const left = h('div', { class: 'detail-left' },
    actionsPanel(c, d.actions, reload),
    duplicatesPanel(c, d.actions, reload),
    d.conflicts.filter((x) => x.status === 'open').length
      ? h('section', { class: 'panel', 'aria-labelledby': 'cf-title' }, h('h2', { id: 'cf-title' }, t('detail.conflicts')),
        d.conflicts.filter((x) => x.status === 'open').map((cf) => conflictCard(cf, reload)))
      : null,
    infoPanel(c),
    timelinePanel(d.history, c, reload));
  const right = h('div', { class: 'detail-right' }, comparePanel(d.photos), photosPanel(c, d.photos, reload));
  mount(main, h('article', { class: 'detail', 'aria-labelledby': 'case-title', dataset: { id: c.id, state: c.state, version: c.version } },
    head, h('div', { class: 'detail-cols' }, left, right)));
  document.title = `${shortID(c.id)} ${stateLabel(c.state)} — fieldsync`;
}

function dlRow(label, value) {
  if (value === undefined || value === null || value === '') return null;
  return [h('dt', {}, label), h('dd', {}, value)];
}

function infoPanel(c) {
  const area = [orgName(c.town_code), orgName(c.village_code)].filter(Boolean).join(' / ');
  const src = t(`source.${c.source}`);
  return h('section', { class: 'panel', 'aria-labelledby': 'info-title' }, h('h2', { id: 'info-title' }, t('detail.info')),
    h('dl', { class: 'info' },
      dlRow(t('detail.description'), c.description),
      dlRow(t('detail.location'), `${c.location.address || ''} (${c.location.lat.toFixed(6)}, ${c.location.lon.toFixed(6)})`),
      dlRow(t('detail.org'), area),
      dlRow(t('detail.grid'), c.grid_code ? gridName(c.grid_code) : ''),
      dlRow(t('detail.road'), c.road_segment_id ? segName(c.road_segment_id) : ''),
      dlRow(t('detail.party'), c.party),
      dlRow(t('detail.quantity'), c.quantity != null ? String(c.quantity) : ''),
      dlRow(t('detail.source'), src),
      dlRow(t('detail.reporter'), `${userName(c.reporter_id)}${c.reporter_role ? ` (${t(`role.${c.reporter_role}`)})` : ''}`),
      dlRow(t('detail.device'), c.device_id ? deviceName(c.device_id) : ''),
      dlRow(t('col.created'), fmtTime(c.created_at)),
      dlRow(t('detail.unit'), c.unit_id ? unitName(c.unit_id) : ''),
      dlRow(t('detail.assignee'), c.assignee_id ? userName(c.assignee_id) : ''),
      dlRow(t('detail.disposition'), c.disposition),
      dlRow(t('detail.pending'), c.pending_request ? `${c.pending_request}${c.pending_deadline ? ' → ' + fmtTime(c.pending_deadline) : ''}` : ''),
      dlRow(t('detail.linked'), c.linked_case ? h('a', { href: `#/cases/${c.linked_case}` }, shortID(c.linked_case)) : '')));
}

// ---- actions ----

function actionsPanel(c, actions, reload) {
  const formBox = h('div', { class: 'action-form-box' });
  const buttons = actions.filter((a) => FORMS[a]).map((a) => h('button', {
    type: 'button', class: 'action', dataset: { action: a }, 'aria-expanded': 'false',
    onclick: (ev) => {
      for (const b of buttons) b.setAttribute('aria-expanded', 'false');
      ev.currentTarget.setAttribute('aria-expanded', 'true');
      mount(formBox, actionForm(c, a, reload, () => { mount(formBox); ev.target.focus(); }));
      formBox.querySelector('select, textarea, input')?.focus();
    },
  }, t(`action.${a}`)));
  return h('section', { class: 'panel actions', 'aria-labelledby': 'act-title' }, h('h2', { id: 'act-title' }, t('detail.actions')),
    buttons.length ? h('div', { class: 'action-buttons' }, buttons) : h('p', { class: 'muted' }, t('detail.no_actions')), formBox);
}

// OFFICE are the roles that see duplicate suggestions (the server's rule).
const OFFICE = ['clerk', 'supervisor', 'admin'];

/**
 * duplicatesPanel suggests reports of the same category near this one in
 * place and time; when this case may be voided, each can take it as its
 * duplicate (void, reason duplicate, linked to the one that stands).
 */
function duplicatesPanel(c, actions, reload) {
  if (!OFFICE.includes(ref.me?.user?.role) || ['voided', 'closed'].includes(c.state)) return null;
  const list = h('div', { class: 'dup-list' }, h('p', { class: 'muted' }, t('loading')));
  const err = h('div', { class: 'form-error', role: 'alert' });
  const panel = h('section', { class: 'panel duplicates', id: 'duplicates', 'aria-labelledby': 'dup-title' },
    h('h2', { id: 'dup-title' }, t('dup.title')), list, err);
  get(`/cases/${c.id}/duplicates`).then((res) => {
    if (!res.items.length) {
      mount(list, h('p', { class: 'muted' }, t('dup.none', { m: res.radius_m, h: res.hours })));
      return;
    }
    mount(list, h('p', { class: 'small muted' }, t('dup.hint', { m: res.radius_m, h: res.hours })),
      h('ul', {}, res.items.map((it) => h('li', { class: 'dup', dataset: { id: it.case.id } },
        h('a', { href: `#/cases/${it.case.id}` }, h('code', {}, shortID(it.case.id))), ' ',
        stateBadge(it.case.state), ' ',
        h('span', {}, it.case.location.address || ''), ' ',
        h('span', { class: 'muted small' }, t('dup.apart', { m: Math.round(it.distance_m), h: it.hours_apart })),
        actions.includes('void') ? h('button', {
          type: 'button', class: 'dup-merge',
          onclick: async () => {
            try {
              await api('POST', `/cases/${c.id}/transitions`, { action: 'void', base_version: c.version, command_id: newID(),
                params: { reason: 'duplicate', duplicate_of: it.case.id } });
              toast(t('dup.merged'));
              await reload();
            } catch (e) { mount(err, e.message); }
          },
        }, t('dup.merge')) : null))));
  }).catch((e) => mount(list, h('p', { class: 'form-error' }, e.message)));
  return panel;
}

function templatePicker(kind, target) {
  const sel = select('template', [['', t('form.template_pick')], ...TEMPLATES[kind].map((s) => [s, s])], '');
  sel.addEventListener('change', () => {
    if (!sel.value) return;
    target.value = target.value ? `${target.value}；${sel.value}` : sel.value;
    sel.value = '';
    target.focus();
  });
  return field(t('form.template'), sel);
}

function control(spec, c) {
  const req = spec.req ? { required: true, 'aria-required': 'true' } : {};
  const opt = spec.req ? '' : ` ${t('form.optional')}`;
  switch (spec.k) {
    case 'comment':
    case 'reason': {
      const ta = h('textarea', { name: spec.k, rows: 3, ...req });
      return [spec.tpl ? templatePicker(spec.tpl, ta) : null, field(t(`form.${spec.k}`) + opt, ta)];
    }
    case 'void_reason':
      return field(t('form.reason'), select('void_reason', [['', t('form.template_pick')], ...VOID_REASONS.map((r) => [r, t(`void.${r}`)])], '', req));
    case 'deadline':
      return field(t('form.deadline') + (spec.req ? '' : ` ${t('form.default_deadline')}`), h('input', { type: 'datetime-local', name: 'deadline', ...req }));
    case 'unit': {
      const units = ref.units.slice().sort((a, b) => (b.town_code === c.town_code) - (a.town_code === c.town_code));
      return field(t('form.unit'), select('unit', [['', t('form.template_pick')], ...units.map((u) => [u.id, u.name])], '', req));
    }
    case 'assignee':
      return field(t('form.assignee') + opt, select('assignee', [['', t('form.none')], ...fieldUsers()], ''));
    case 'disposition':
      return field(t('form.disposition') + opt, select('disposition', [['', t('form.none')], ...DISPOSITIONS.map((x) => [x, x])], c.disposition || ''));
    case 'category':
      return field(t('form.category'), select('category', ref.categories.filter((x) => !x.disabled).map((x) => [x.code, `${x.code} ${catName(x.code)}`]), c.category));
    default:
      return null;
  }
}

/** chinaTime turns a datetime-local value (China time) into RFC 3339. */
function chinaTime(v) { return v ? new Date(`${v}:00+08:00`).toISOString() : undefined; }

function actionForm(c, action, reload, cancel) {
  const specs = FORMS[action];
  const err = h('div', { class: 'form-error', role: 'alert' });
  const form = h('form', { class: 'action-form', dataset: { action }, 'aria-label': t(`action.${action}`) },
    h('h3', {}, t(`action.${action}`)),
    specs.map((s) => control(s, c)),
    err,
    h('div', { class: 'form-buttons' },
      h('button', { type: 'submit', class: 'primary' }, t('form.submit')),
      h('button', { type: 'button', onclick: cancel }, t('form.cancel'))));
  form.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') cancel(); });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const v = (k) => String(fd.get(k) || '').trim();
    const params = {};
    if (v('comment')) params.comment = v('comment');
    if (v('reason')) params.reason = v('reason');
    if (v('void_reason')) params.reason = v('void_reason');
    if (v('deadline')) params.deadline = chinaTime(v('deadline'));
    if (v('unit')) params.unit_id = v('unit');
    if (v('assignee')) params.assignee_id = v('assignee');
    if (v('disposition')) params.disposition = v('disposition');
    if (v('category') && v('category') !== c.category) params.category = v('category');
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      await api('POST', `/cases/${c.id}/transitions`, { action, params, base_version: c.version, command_id: newID() });
      toast(t('form.done', { a: t(`action.${action}`) }));
      await reload();
    } catch (e) {
      mount(err, e.message, e.hint ? h('div', { class: 'hint' }, e.hint) : null);
      btn.disabled = false;
    }
  });
  return form;
}

// ---- photos ----

function typeLabel(p) { return t(`photo.${p.type}`); }

/** thumb is a photo's thumbnail, with a placeholder while none exists. */
function thumb(p, large) {
  const alt = `${typeLabel(p)} ${fmtTime(photoTime(p))}`;
  const ph = h('div', { class: 'thumb-ph', role: 'img', 'aria-label': `${alt} — ${t('photo.no_thumb')}` }, t('photo.no_thumb'));
  if (!p.thumb_small && !p.thumb_large) return ph;
  const img = h('img', { src: `/api/v1/photos/${p.id}/thumbnail${large ? '?size=large' : ''}`, alt, loading: 'lazy' });
  img.addEventListener('error', () => img.replaceWith(ph));
  return img;
}

function flagList(p) {
  const flags = [...(p.flags || [])];
  if (p.gps && p.gps.mock) flags.push('mock');
  return flags.map((f) => h('span', { class: 'flag flag-warn', dataset: { flag: f } }, t(`photo.flag.${f}`) === `photo.flag.${f}` ? f : t(`photo.flag.${f}`)));
}

function verifiedBadge(p) {
  return p.verified
    ? h('span', { class: 'verified', title: p.sha256 }, '✓ ', t('photo.verified'))
    : h('span', { class: 'unverified', title: p.sha256 }, t('photo.unverified'));
}

// mayWithdraw mirrors the server's rule (supervisors and admins withdraw
// evidence); the server enforces it.
function mayWithdraw() {
  return ['supervisor', 'admin'].includes(ref.me?.user?.role);
}

/** withdrawForm asks for the reason and withdraws photo p of case c. */
function withdrawForm(c, p, done) {
  const reason = h('textarea', { name: 'withdraw_reason', rows: 2, required: true, maxlength: 500 });
  const err = h('div', { class: 'form-error', role: 'alert' });
  const form = h('form', { class: 'withdraw-form', 'aria-label': t('photo.withdraw'), hidden: true },
    field(t('photo.withdraw_reason'), reason), err,
    h('div', { class: 'form-buttons' }, h('button', { type: 'submit', class: 'danger' }, t('photo.withdraw_confirm'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!reason.value.trim()) return;
    try {
      await api('POST', `/cases/${c.id}/photos/${p.id}/withdraw`, { reason: reason.value.trim(), command_id: newID() });
      toast(t('photo.withdrawn'));
      await done();
    } catch (e) { mount(err, e.message); }
  });
  return form;
}

function preview(p, c, reload) {
  const withdraw = c && !p.deleted && mayWithdraw()
    ? withdrawForm(c, p, async () => { dlg.close(); await reload(); })
    : null;
  const dlg = h('dialog', { class: 'preview', 'aria-label': `${t('photo.preview')} ${typeLabel(p)}` },
    h('div', { class: 'preview-body' }, thumb(p, true)),
    h('p', {}, typeLabel(p), ' · ', fmtTime(photoTime(p), true), ' · ', verifiedBadge(p)),
    h('p', { class: 'mono small' }, `${t('photo.sha')} ${p.sha256}`),
    p.deleted ? h('p', { class: 'withdrawn-reason' }, `${t('photo.withdrawn')}: ${p.delete_reason}`) : null,
    withdraw,
    h('div', { class: 'form-buttons' },
      h('a', { class: 'button', href: `/api/v1/photos/${p.id}/original`, target: '_blank', rel: 'noopener' }, t('photo.original')),
      withdraw ? h('button', { type: 'button', class: 'withdraw-open', onclick: (ev) => { withdraw.hidden = false; ev.target.remove(); withdraw.querySelector('textarea').focus(); } }, t('photo.withdraw')) : null,
      h('button', { type: 'button', onclick: () => dlg.close() }, t('photo.close'))));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
}

function photoCard(p, c, reload) {
  const pt = photoPoint(p);
  return h('figure', { class: p.deleted ? 'photo withdrawn' : 'photo', dataset: { id: p.id, type: p.type } },
    h('button', { type: 'button', class: 'thumb-btn', onclick: () => preview(p, c, reload), 'aria-label': `${t('photo.preview')}: ${typeLabel(p)}` }, thumb(p)),
    h('figcaption', {},
      h('div', {}, h('strong', {}, typeLabel(p)), ' ', verifiedBadge(p)),
      h('div', { class: 'small' }, `${t('photo.captured')} ${fmtTime(photoTime(p), true)}`),
      pt ? h('div', { class: 'small muted' }, `${t('photo.gps')} ${pt.lat.toFixed(5)}, ${pt.lon.toFixed(5)}`) : null,
      h('div', { class: 'small mono', title: p.sha256 }, `${t('photo.sha')} ${p.sha256.slice(0, 12)}…`),
      p.deleted ? h('div', { class: 'withdrawn-reason' }, `${t('photo.withdrawn')}: ${p.delete_reason}`) : null,
      h('div', {}, flagList(p))));
}

/** photosPanel lists the case's evidence; withdrawn photos stay listed apart, with their reason. */
function photosPanel(c, photos, reload) {
  const live = photos.filter((p) => !p.deleted);
  const gone = photos.filter((p) => p.deleted);
  return h('section', { class: 'panel', 'aria-labelledby': 'ph-title' }, h('h2', { id: 'ph-title' }, t('detail.photos'), ` (${live.length})`),
    h('div', { class: 'photo-grid' }, live.map((p) => photoCard(p, c, reload))),
    gone.length ? h('details', { class: 'withdrawn-photos', id: 'withdrawn-photos' },
      h('summary', {}, `${t('photo.withdrawn_list')} (${gone.length})`),
      h('p', { class: 'small muted' }, t('photo.withdrawn_note')),
      h('div', { class: 'photo-grid' }, gone.map((p) => photoCard(p, c, reload)))) : null);
}

/** comparePanel shows before, after and check side by side, with capture times and distances. */
function comparePanel(photos) {
  const live = photos.filter((p) => !p.deleted);
  const site = live.filter((p) => ['far', 'near', 'reference'].includes(p.type));
  const before = live.find((p) => p.type === 'before') || site.find((p) => p.type === 'far') || site[0];
  const after = live.filter((p) => p.type === 'after').pop();
  const check = live.filter((p) => p.type === 'check').pop();
  const panel = h('section', { class: 'panel compare', 'aria-labelledby': 'cmp-title', id: 'compare' }, h('h2', { id: 'cmp-title' }, t('detail.compare')));
  if (!before || (!after && !check)) {
    panel.append(h('p', { class: 'muted' }, t('compare.none')));
    return panel;
  }
  const col = (label, p) => h('div', { class: 'cmp-col' }, h('h3', {}, label), photoCard(p));
  const cols = [col(before.type === 'before' ? t('photo.before') : typeLabel(before), before)];
  if (after) cols.push(col(t('photo.after'), after));
  if (check) cols.push(col(t('photo.check'), check));
  const notes = [];
  for (const other of [after, check].filter(Boolean)) {
    const a = photoPoint(before);
    const b = photoPoint(other);
    const ta = photoTime(before);
    const tb = photoTime(other);
    const dist = a && b ? t('compare.distance', { m: Math.round(haversine(a.lat, a.lon, b.lat, b.lon)) }) : t('compare.nodistance');
    const gap = ta && tb ? ` · ${t('compare.interval', { d: fmtDuration(new Date(tb) - new Date(ta)) })}` : '';
    notes.push(h('li', { dataset: { pair: other.type } }, `${typeLabel(before)} ↔ ${typeLabel(other)}: ${dist}${gap}`));
  }
  panel.append(h('div', { class: 'cmp-cols' }, cols), h('ul', { class: 'cmp-notes' }, notes));
  return panel;
}

// ---- timeline ----

function histTitle(e) {
  switch (e.kind) {
    case 'transition':
    case 'created':
      return [e.action ? t(`action.${e.action}`) : t('hist.transition'), e.from_state || e.to_state
        ? h('span', { class: 'muted' }, ` ${e.from_state ? stateLabel(e.from_state) : '∅'} → ${e.to_state ? stateLabel(e.to_state) : ''}`) : null];
    case 'edit': return t('hist.edit');
    case 'comment': return t('hist.comment');
    case 'photo': return t('hist.photo');
    case 'conflict': return t('hist.conflict');
    case 'conflict_resolved': return t('hist.resolve');
    case 'photo_withdrawn': return t('hist.photo_withdrawn');
    case 'duplicate_merged': return t('hist.duplicate_merged');
    case 'flag': return e.action ? t(`action.${e.action}`) : e.kind;
    default: return e.kind;
  }
}

function timelinePanel(history, c, reload) {
  const items = history.slice().sort((a, b) => a.id - b.id).map((e) => h('li', { class: `tl tl-${e.kind}`, dataset: { kind: e.kind, action: e.action || '' } },
    h('div', { class: 'tl-head' },
      h('time', { datetime: e.at }, fmtTime(e.at, true)), ' ',
      h('strong', {}, histTitle(e)), ' ',
      h('span', { class: 'who' }, t('hist.by', { who: e.actor_name || userName(e.actor_id), role: t(`role.${e.role}`) })), ' ',
      h('span', { class: 'muted small' }, e.device_id ? t('hist.device', { d: deviceName(e.device_id) }) : t('hist.console')),
      e.clock_skewed ? h('span', { class: 'flag flag-warn' }, t('hist.skew')) : null),
    e.client_at ? h('div', { class: 'small muted' }, t('hist.client_at', { t: fmtTime(e.client_at, true), f: fmtTime(e.client_at_corrected, true) })) : null,
    e.changes && e.changes.length ? h('ul', { class: 'changes' }, e.changes.map((ch) => h('li', {}, t(`field.${ch.field}`) === `field.${ch.field}` ? h('code', {}, ch.field) : t(`field.${ch.field}`), ': ',
      h('del', {}, ch.old || '∅'), ' → ', h('ins', {}, ch.new || '∅')))) : null,
    e.comment ? h('p', { class: 'tl-comment' }, e.comment) : null,
    e.note ? h('p', { class: 'small muted' }, e.note) : null));
  const body = h('textarea', { name: 'body', rows: 2, required: true });
  const err = h('div', { class: 'form-error', role: 'alert' });
  const form = h('form', { class: 'comment-form', 'aria-label': t('detail.add_comment') },
    field(t('detail.add_comment'), body), err, h('button', { type: 'submit' }, t('detail.send')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!body.value.trim()) return;
    try {
      await api('POST', `/cases/${c.id}/comments`, { body: body.value.trim(), command_id: newID() });
      await reload();
    } catch (e) { mount(err, e.message); }
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'tl-title' }, h('h2', { id: 'tl-title' }, t('detail.timeline')),
    h('ol', { class: 'timeline' }, items), form);
}

