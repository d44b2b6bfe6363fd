// The operators' desk on the dispatch console: the stops of sale in force,
// of a whole store or of one product (SKU), with the audit of every
// suspension and restore (GET /v1/suspensions); the stores flagged for
// missing tickets (GET /v1/stores: missed_acks, flagged); and each rider's
// time on shift today from the dispatch view (GET /v1/dispatch:
// working_minutes, past eight hours warning, from twelve stopped); the drop
// sites, lockers with their slots and compounds' drop points (GET
// /v1/drop-sites); and each platform's free deliveries of 郑享百味 today
// (GET /v1/platforms/{platform}/freeDeliveryQuota), for the platforms the
// console knows (PLATFORMS).

import { bi, dateTime, fmtInt, h, num, platformLabel, replace } from './common.js';

// WORK_WARN and WORK_LIMIT are the working time of the bar's marks, in
// minutes; whether a rider is warned or stopped is the API's word.
const WORK_WARN = 8 * 60;
const WORK_LIMIT = 12 * 60;
// RIDERS_SHOWN is how many riders the table lists, longest at work first.
const RIDERS_SHOWN = 12;
// AUDIT_SHOWN is how many audit entries the desk asks for.
const AUDIT_SHOWN = 20;

const SITE_KINDS = {
  HANDOVER_LOCKER: ['快递柜', 'Locker'],
  HANDOVER_DROP_POINT: ['取货点', 'Drop point'],
};

const ACTIONS = {
  SUSPENSION_ACTION_SUSPEND: ['暂停', 'Suspended', 'bad'],
  SUSPENSION_ACTION_RESTORE: ['恢复', 'Restored', 'good'],
};

export class Operations {
  constructor() {
    this.names = new Map(); // store id → name
    this.msg = h('div', { id: 'ops-msg' });
    this.inForce = h('tbody', {});
    this.audit = h('tbody', {});
    this.flagged = h('tbody', {});
    this.riders = h('tbody', {});
    this.workNote = h('span', { class: 'muted small', id: 'work-count' });
    this.sites = h('tbody', {});
    this.quotas = h('tbody', {});
    this.quotaDay = h('span', { class: 'muted small', id: 'quota-day' });
    const table = (id, heads, body) => h('table', { class: 'list ops-table', id },
      h('thead', {}, h('tr', {}, heads.map(([zh, en, cls]) => h('th', { class: cls || '' }, bi(zh, en))))), body);
    this.card = h('section', { class: 'card ops', id: 'operations' },
      h('div', { class: 'card-head' }, h('h2', {}, bi('运营', 'Operations')),
        h('span', { class: 'muted small head-note' }, bi('暂停销售、未确认接单的门店、骑手工时、自提点与免配送费名额',
          'stops of sale, stores missing tickets, riders\' working time, drop sites, free deliveries'))),
      this.msg,
      h('div', { class: 'ops-grid' },
        h('div', {},
          h('h3', { class: 'table-title' }, bi('暂停中', 'Suspended now')),
          table('suspensions-table', [['门店', 'Store'], ['商品', 'Product'], ['原因', 'Reason'], ['自', 'Since']], this.inForce),
          h('h3', { class: 'table-title' }, bi('暂停与恢复记录', 'Suspension audit')),
          table('audit-table', [['时间', 'When'], ['操作', 'Action'], ['门店', 'Store'], ['商品', 'Product'], ['原因', 'Reason'],
            ['操作人', 'By'], ['取消订单', 'Cancelled', 'num']], this.audit)),
        h('div', {},
          h('h3', { class: 'table-title' }, bi('未按时接单被标记的门店', 'Stores flagged for missed tickets')),
          table('flagged-table', [['门店', 'Store'], ['超时未接单', 'Missed tickets', 'num']], this.flagged),
          h('h3', { class: 'table-title' }, bi('骑手今日工时', 'Riders\' working time today'), ' ', this.workNote),
          h('p', { class: 'muted small' }, bi('8 小时提醒，12 小时起不再派单（中国标准时间，跨班次累计）',
            'warned at 8 h, no new offer from 12 h (China Standard Time, across shifts)')),
          table('work-table', [['骑手', 'Rider'], ['工时', 'Time on shift'], ['', ''], ['状态', 'State']], this.riders))),
      h('div', { class: 'ops-grid', id: 'ops-sites' },
        h('div', {},
          h('h3', { class: 'table-title' }, bi('快递柜与小区取货点', 'Lockers and drop points')),
          table('sites-table', [['名称', 'Name'], ['类型', 'Kind'], ['小区', 'Compound'], ['已占格口 / 总数', 'Slots held / all', 'num'],
            ['状态', 'State']], this.sites)),
        h('div', {},
          h('h3', { class: 'table-title' }, bi('郑享百味今日免配送费名额', 'Free deliveries of 郑享百味 today'), ' ', this.quotaDay),
          table('quota-table', [['平台', 'Platform'], ['名额', 'Quota', 'num'], ['已用', 'Used', 'num'], ['剩余', 'Left', 'num']],
            this.quotas))));
  }

  // drawSites shows a GET /v1/drop-sites answer: open sites first, then by name.
  drawSites(sites) {
    const list = [...sites].sort((a, b) => Number(!!a.closed) - Number(!!b.closed) || a.name.localeCompare(b.name));
    replace(this.sites, list.length ? list.map((x) => {
      const locker = x.kind === 'HANDOVER_LOCKER';
      const slots = num(x.slots);
      return h('tr', { 'data-site': x.site_id, 'data-kind': x.kind, 'data-closed': String(!!x.closed) },
        h('td', {}, x.name, ' ', h('span', { class: 'muted small mono' }, x.site_id)),
        h('td', {}, bi(...(SITE_KINDS[x.kind] || [x.kind, '']))),
        h('td', {}, x.compound),
        h('td', { class: 'num nowrap' }, locker ? `${fmtInt(slots - num(x.free_slots))} / ${fmtInt(slots)}` : '—'),
        h('td', {}, x.closed
          ? h('span', { class: 'chip bad', title: dateTime(x.closed_at) }, '已关闭 Closed')
          : locker && num(x.free_slots) === 0 ? h('span', { class: 'chip warn' }, '已满 Full')
            : h('span', { class: 'chip good' }, '开放 Open')));
    }) : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, bi('尚未登记自提点', 'No drop site is registered'))));
  }

  // drawQuotas shows each platform's GET .../freeDeliveryQuota answer of today.
  drawQuotas(quotas) {
    this.quotaDay.textContent = quotas.length ? quotas[0].day : '';
    replace(this.quotas, quotas.map((q) => h('tr', { 'data-platform': q.platform, 'data-left': num(q.left) },
      h('td', {}, bi(...platformLabel(q.platform))),
      h('td', { class: 'num' }, fmtInt(q.quota)), h('td', { class: 'num' }, fmtInt(q.used)),
      h('td', { class: 'num' }, num(q.left) === 0 && num(q.quota) > 0 ? h('span', { class: 'chip bad' }, '0 用完 none left') : fmtInt(q.left)))));
  }

  // storeName names a store by what the stores list said, else its id.
  storeName(id) {
    const name = this.names.get(id);
    return name ? [name, ' ', h('span', { class: 'muted small mono' }, id)] : h('span', { class: 'mono' }, id);
  }

  // drawStores shows the flagged stores of a GET /v1/stores answer.
  drawStores(stores) {
    for (const st of stores) this.names.set(st.store_id, st.name);
    const flagged = stores.filter((st) => st.flagged).sort((a, b) => num(b.missed_acks) - num(a.missed_acks));
    replace(this.flagged, flagged.length ? flagged.map((st) => h('tr', { 'data-store': st.store_id },
      h('td', {}, this.storeName(st.store_id)), h('td', { class: 'num' }, fmtInt(st.missed_acks))))
      : h('tr', {}, h('td', { colspan: 2, class: 'muted' }, bi('没有被标记的门店', 'No store is flagged'))));
  }

  // drawSuspensions shows a GET /v1/suspensions answer.
  drawSuspensions(resp) {
    const inForce = resp.in_force || [];
    replace(this.inForce, inForce.length ? inForce.map((x) => h('tr', { 'data-store': x.store_id, 'data-sku': x.sku || '' },
      h('td', {}, this.storeName(x.store_id)), h('td', {}, product(x.sku)), h('td', {}, x.reason || ''),
      h('td', { class: 'nowrap' }, dateTime(x.since))))
      : h('tr', {}, h('td', { colspan: 4, class: 'muted' }, bi('没有暂停中的门店或商品', 'Nothing is suspended'))));
    const records = resp.records || [];
    replace(this.audit, records.length ? records.map((r) => {
      const [zh, en, cls] = ACTIONS[r.action] || [r.action, '', ''];
      const cancelled = (r.cancelled_order_ids || []).length;
      return h('tr', { 'data-action': r.action, 'data-store': r.store_id, 'data-sku': r.sku || '' },
        h('td', { class: 'nowrap' }, dateTime(r.at)), h('td', {}, h('span', { class: 'chip ' + cls }, zh, ' ', en)),
        h('td', {}, this.storeName(r.store_id)), h('td', {}, product(r.sku)), h('td', {}, r.reason || ''),
        h('td', { class: 'mono small' }, r.actor || ''), h('td', { class: 'num' }, fmtInt(cancelled)));
    }) : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, bi('暂无记录', 'No entries yet'))));
  }

  // drawRiders shows the riders of the dispatch view, longest at work first.
  drawRiders(riders) {
    const list = [...riders].sort((a, b) => num(b.working_minutes) - num(a.working_minutes) || a.rider_id.localeCompare(b.rider_id));
    const warned = list.filter((r) => r.warning && !r.stopped).length;
    const stopped = list.filter((r) => r.stopped).length;
    this.workNote.textContent = `${warned} 提醒 warned · ${stopped} 停止派单 stopped`;
    replace(this.riders, list.length ? list.slice(0, RIDERS_SHOWN).map((r) => {
      const m = num(r.working_minutes);
      const state = r.stopped ? 'stopped' : r.warning ? 'warning' : 'ok';
      const [zh, en, cls] = { stopped: ['已停止派单', 'Stopped', 'bad'], warning: ['超 8 小时', 'Past 8 h', 'warn'], ok: ['正常', 'OK', 'good'] }[state];
      return h('tr', { 'data-rider': r.rider_id, 'data-state': state, 'data-minutes': m },
        h('td', { class: 'mono' }, r.rider_id), h('td', { class: 'num nowrap' }, hoursMinutes(m)),
        h('td', { class: 'work-cell' }, h('div', { class: 'work-bar' },
          h('span', { class: 'work-fill ' + state, style: `width: ${Math.min(100, (100 * m) / WORK_LIMIT).toFixed(1)}%` }),
          h('span', { class: 'work-mark', style: `left: ${((100 * WORK_WARN) / WORK_LIMIT).toFixed(1)}%` }))),
        h('td', {}, h('span', { class: 'chip ' + cls }, zh, ' ', en)));
    }) : h('tr', {}, h('td', { colspan: 4, class: 'muted' }, bi('没有在岗骑手', 'No rider on shift'))));
  }
}

// AUDIT_QUERY is the query of the suspensions the desk fetches.
export const AUDIT_QUERY = 'limit=' + AUDIT_SHOWN;

function product(sku) {
  return sku ? h('span', { class: 'mono' }, sku) : bi('整店', 'Whole store');
}

// hoursMinutes writes minutes as 9 h 05 min.
function hoursMinutes(m) {
  return `${Math.floor(m / 60)} h ${String(Math.round(m % 60)).padStart(2, '0')} min`;
}
