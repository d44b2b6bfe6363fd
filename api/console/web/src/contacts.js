// Contact tracing on the bureau's panel (GET /v1/contacts, a bureau key):
// the riders and stores that touched an order, or the orders delivered to a
// compound's gate, within a window. A compound is the H3 cell of resolution
// 9 holding its gate: typed, or taken from a drop site the operators'
// desk lists (with an operator key). The window is left to the API (the
// last 14 days) unless given.

import { api, bi, dateTime, getKey, h, notice, replace } from './common.js';
import { latLngToCell } from './map.js';

// GATE_RES is the resolution of a compound's cell, as the API wants it.
const GATE_RES = 9;

const KINDS = {
  CONTACT_KIND_RIDER: ['骑手', 'Rider'],
  CONTACT_KIND_STORE: ['门店', 'Store'],
};

export class Contacts {
  constructor() {
    const input = (id, placeholder, type = 'text') => h('input', { id, type, placeholder, autocomplete: 'off', spellcheck: 'false' });
    this.order = input('trace-order', '订单号 order id');
    this.cell = input('trace-cell', 'H3 9 级格 cell, 8940…fffff');
    this.site = h('select', { id: 'trace-site', onchange: () => (this.cell.value = this.site.value) },
      h('option', { value: '' }, '— 自提点 drop site —'));
    this.from = input('trace-from', '', 'datetime-local');
    this.to = input('trace-to', '', 'datetime-local');
    this.msg = h('div', { id: 'contacts-msg' });
    this.summary = h('p', { class: 'muted small', id: 'contacts-summary' });
    this.rows = h('tbody', {});
    this.names = new Map(); // store id → name
    const field = (zh, en, el) => h('label', {}, h('span', { class: 'small' }, bi(zh, en)), el);
    const form = h('form', { class: 'trace-form', id: 'contacts-form' },
      field('订单', 'Order', this.order),
      h('span', { class: 'muted small trace-or' }, '或 or'),
      field('小区（自提点）', 'Compound (drop site)', this.site),
      field('小区大门所在格', 'Gate cell', this.cell),
      field('自', 'From', this.from),
      field('至', 'To', this.to),
      h('button', { type: 'submit', class: 'primary', id: 'trace' }, bi('追踪', 'Trace')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.trace();
    });
    this.el = h('div', { class: 'contacts', id: 'contacts' },
      h('h3', { class: 'table-title' }, bi('密接追踪', 'Contact tracing'),
        h('span', { class: 'muted small' }, ' · 仅商务局可查 · the bureau only')),
      form, this.msg, this.summary,
      h('table', { class: 'list figures-table', id: 'contacts-table' },
        h('thead', {}, h('tr', {}, [['类型', 'Kind'], ['骑手 / 门店', 'Rider / store'], ['首次接触', 'First'], ['最后接触', 'Last'],
          ['订单', 'Orders']].map(([zh, en]) => h('th', {}, bi(zh, en))))),
        this.rows));
  }

  // setSites offers the drop sites of a GET /v1/drop-sites answer, by the
  // cell of their gate.
  setSites(sites) {
    const chosen = this.site.value;
    replace(this.site, h('option', { value: '' }, '— 自提点 drop site —'), sites.map((x) => {
      const cell = latLngToCell(x.gate.lat, x.gate.lng, GATE_RES);
      return h('option', { value: cell, 'data-site': x.site_id, selected: cell === chosen }, `${x.name} · ${x.compound}`);
    }));
  }

  // setStores names the stores of a GET /v1/stores answer.
  setStores(stores) {
    for (const st of stores) this.names.set(st.store_id, st.name);
  }

  // trace asks the API with the bureau's key and lists the contacts.
  async trace() {
    const q = new URLSearchParams();
    const order = this.order.value.trim();
    const cell = this.cell.value.trim();
    if (order) q.set('order_id', order);
    if (cell) q.set('cell', cell);
    for (const [name, el] of [['from', this.from], ['to', this.to]]) {
      if (el.value) q.set(name, new Date(el.value).toISOString());
    }
    const key = getKey('bureau_key');
    if (!key) {
      replace(this.msg, notice('error', bi('需要商务局密钥', 'A bureau key is needed')));
      return;
    }
    replace(this.msg);
    try {
      const resp = (await api('/v1/contacts?' + q, { key })) || {};
      this.draw(resp);
    } catch (err) {
      replace(this.summary);
      replace(this.rows);
      replace(this.msg, notice('error', bi('密接追踪', 'Contact tracing'), ': ', err.message));
    }
  }

  draw(resp) {
    const contacts = resp.contacts || [];
    const traced = resp.order_ids || [];
    this.summary.textContent = `${traced.length} 单 orders traced · ${dateTime(resp.from)} – ${dateTime(resp.to)}`;
    replace(this.rows, contacts.length ? contacts.map((c) => {
      const name = c.kind === 'CONTACT_KIND_STORE' ? this.names.get(c.id) : '';
      return h('tr', { 'data-kind': c.kind, 'data-id': c.id },
        h('td', {}, h('span', { class: 'chip' }, bi(...(KINDS[c.kind] || [c.kind, ''])))),
        h('td', {}, name ? [name, ' '] : null, h('span', { class: name ? 'muted small mono' : 'mono' }, c.id)),
        h('td', { class: 'nowrap' }, dateTime(c.first_at)), h('td', { class: 'nowrap' }, dateTime(c.last_at)),
        h('td', { class: 'mono small' }, (c.order_ids || []).join(' ')));
    }) : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, bi('没有接触者', 'No contact in the window'))));
  }
}
