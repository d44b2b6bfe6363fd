// The festival's campaigns on the bureau's panel (GET /v1/campaigns, a
// bureau key): each campaign's name, its days (China Standard Time, both
// included), its sections, whether it is running, and its orders so far
// (GET /v1/figures?group_by=GROUPING_CAMPAIGN).

import { api, bi, fmtInt, h, notice, replace, sectionLabel } from './common.js';

// todayCST is the day of China Standard Time, YYYY-MM-DD.
function todayCST() {
  return new Date().toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
}

function stateOf(c, today) {
  if (today < c.first_day) return ['未开始', 'Upcoming', 'chip'];
  if (today > c.last_day) return ['已结束', 'Ended', 'chip'];
  return ['进行中', 'Running', 'chip good'];
}

export class Campaigns {
  constructor() {
    this.msg = h('div', { id: 'campaigns-msg' });
    this.rows = h('tbody', {});
    this.el = h('div', { class: 'campaigns' },
      h('h3', { class: 'table-title' }, bi('促销活动', 'Campaigns')),
      this.msg,
      h('table', { class: 'list figures-table', id: 'campaigns-table' },
        h('thead', {}, h('tr', {}, [['活动', 'Campaign'], ['日期', 'Days'], ['板块', 'Sections'], ['状态', 'State'],
          ['订单', 'Orders', 'num']].map(([zh, en, cls]) => h('th', { class: cls || '' }, bi(zh, en))))),
        this.rows));
  }

  // refresh reads the campaigns and their orders with the bureau's key.
  async refresh(key) {
    try {
      const [list, figures] = await Promise.all([
        api('/v1/campaigns', { key }), api('/v1/figures?group_by=GROUPING_CAMPAIGN', { key })]);
      replace(this.msg);
      this.draw((list && list.campaigns) || [], (figures && figures.rows) || []);
    } catch (err) {
      replace(this.msg, notice('error', bi('促销活动', 'Campaigns'), ': ', err.message));
    }
  }

  draw(campaigns, rows) {
    const orders = new Map(rows.map((r) => [r.campaign, r.orders]));
    const today = todayCST();
    if (campaigns.length === 0) {
      replace(this.rows, h('tr', {}, h('td', { colspan: 5, class: 'muted' }, bi('暂无活动', 'No campaign'))));
      return;
    }
    replace(this.rows, campaigns.map((c) => {
      const [zh, en, cls] = stateOf(c, today);
      return h('tr', { 'data-campaign': c.id },
        h('td', {}, c.name),
        h('td', { class: 'mono' }, c.first_day === c.last_day ? c.first_day : `${c.first_day} – ${c.last_day}`),
        h('td', {}, (c.sections || []).map((s) => sectionLabel(s)[0]).join('、')),
        h('td', {}, h('span', { class: cls }, bi(zh, en))),
        h('td', { class: 'num' }, fmtInt(orders.get(c.id) || 0)));
    }));
  }
}
