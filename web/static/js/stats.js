// Statistics: placeholder until GET /api/v1/stats lands.
import { t } from './i18n.js';
import { h, mount } from './util.js';

/** renderStats draws the statistics page. */
export async function renderStats(main) {
  mount(main, h('section', { class: 'page' }, h('h1', {}, t('stats.title')), h('p', {}, t('stats.unavailable'))));
}
