// Audit log: placeholder until GET /api/v1/audit lands.
import { t } from './i18n.js';
import { h, mount } from './util.js';

/** renderAudit draws the audit log page. */
export async function renderAudit(main) {
  mount(main, h('section', { class: 'page' }, h('h1', {}, t('audit.title')), h('p', {}, t('audit.unavailable'))));
}
