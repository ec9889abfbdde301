// Reference data the console looks up by code: categories, the org tree,
// grids, road segments, units and the enrolled devices (which also name the
// field users, for the reporter filter and the assignee picker). Loaded once
// per login; each list is optional so a failing endpoint degrades one control.
import { get } from './api.js';
import { getLang } from './i18n.js';

export const ref = {
  me: null,
  categories: [], org: [], grids: [], segments: [], units: [], devices: [],
  byCat: new Map(), byOrg: new Map(), byGrid: new Map(), bySeg: new Map(), byUnit: new Map(), byDevice: new Map(),
  users: new Map(), // user id → username (field users with devices, and the caller)
};

async function items(path) {
  try { return (await get(path)).items || []; } catch { return []; }
}

/** loadRef loads every reference list in parallel. */
export async function loadRef(me) {
  ref.me = me;
  const [cats, org, grids, segs, units, devs] = await Promise.all([
    items('/categories'), items('/org'), items('/grids'), items('/road-segments'), items('/units'), items('/devices'),
  ]);
  Object.assign(ref, { categories: cats, org, grids, segments: segs, units, devices: devs });
  ref.byCat = new Map(cats.map((c) => [c.code, c]));
  ref.byOrg = new Map(org.map((o) => [o.code, o]));
  ref.byGrid = new Map(grids.map((g) => [g.code, g]));
  ref.bySeg = new Map(segs.map((s) => [s.id, s]));
  ref.byUnit = new Map(units.map((u) => [u.id, u]));
  refreshDevices(devs);
}

/** refreshDevices replaces the device list (after enrol or revoke). */
export function refreshDevices(devs) {
  ref.devices = devs;
  ref.byDevice = new Map(devs.map((d) => [d.id, d]));
  ref.users = new Map(devs.map((d) => [d.user_id, d.username]));
  if (ref.me) ref.users.set(ref.me.user.id, ref.me.user.username);
}

/** catName names a category in the current language. */
export function catName(code) {
  const c = ref.byCat.get(code);
  if (!c) return code || '';
  return getLang() === 'en' ? (c.name_en || c.name_zh) : c.name_zh;
}

/** orgName names an org unit (town, village) by code. */
export function orgName(code) { return ref.byOrg.get(code)?.name || code || ''; }

/** unitName names a responsible unit. */
export function unitName(id) { return ref.byUnit.get(id)?.name || id || ''; }

/** segName names a road segment. */
export function segName(id) { return ref.bySeg.get(id)?.name || id || ''; }

/** gridName names a grid. */
export function gridName(code) { return ref.byGrid.get(code)?.name || code || ''; }

/** deviceName names a device by id (short id when unknown). */
export function deviceName(id) {
  if (!id) return '';
  const d = ref.byDevice.get(id);
  return d ? d.name : String(id).slice(-8);
}

/** userName names a user by id when known. */
export function userName(id) { return ref.users.get(id) || (id ? String(id).slice(-8) : ''); }

/** towns lists the towns of the org tree. */
export function towns() { return ref.org.filter((o) => o.level === 'town'); }

/** villages lists the villages, of one town when given. */
export function villages(town) { return ref.org.filter((o) => o.level === 'village' && (!town || o.parent_code === town)); }

/** fieldUsers lists the field users that have an enrolled device: [id, username]. */
export function fieldUsers() {
  const seen = new Map();
  for (const d of ref.devices) if (!seen.has(d.user_id)) seen.set(d.user_id, d.username || d.user_id);
  return [...seen.entries()].sort((a, b) => String(a[1]).localeCompare(String(b[1])));
}
