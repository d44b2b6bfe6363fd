// The store's ticket page (/store): the merchant gives a store id and its
// merchant key (kept in sessionStorage); the page lists the store's open
// tickets (GET /v1/stores/{store_id}/tickets) with their pickup codes, and
// accepts, rejects, readies and hands over orders (POST
// /v1/orders/{id}:accept, :reject, :markReady, :handOver).

import {
  adoptURLKeys, api, bi, deliveryLabel, getKey, h, header, hhmm, hhmmss, keyForm, notice, num, orderStatusLabel,
  platformLabel, replace, sectionLabel, setKey, yuan,
} from './common.js';

const REFRESH_EVERY = 3000;

export function start(root) {
  adoptURLKeys();
  const fromURL = new URL(location.href).searchParams.get('store_id');
  if (fromURL) setKey('store_id', fromURL);
  const msg = h('div', { id: 'store-msg' });
  const list = h('div', { class: 'tickets', id: 'tickets' });
  const title = h('span', { class: 'muted', id: 'store-title' });
  const updated = h('span', { class: 'muted small', id: 'updated' });
  const body = h('main', { class: 'store-page' });
  replace(root, header('门店出单', 'Store tickets', updated,
    h('button', { class: 'ghost', type: 'button', onclick: () => ask() }, bi('更换门店', 'Store & key'))), body);
  let timer = 0;

  function ask() {
    clearTimeout(timer);
    replace(body, keyForm([
      { name: 'store_id', zh: '门店编号', en: 'Store ID', secret: false, placeholder: 'S-…' },
      { name: 'merchant_key', zh: '商户密钥', en: 'Merchant API key' },
    ], () => show(), '粘贴门店的商户密钥。 Paste the store\'s merchant API key.'));
  }

  function show() {
    replace(body, h('div', { class: 'store-head' }, h('h2', {}, bi('待处理小票', 'Open tickets')), title), msg, list);
    title.textContent = getKey('store_id');
    refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    // Do not redraw under a merchant typing a pickup code.
    if (list.contains(document.activeElement) && document.activeElement.tagName === 'INPUT') {
      timer = setTimeout(refresh, REFRESH_EVERY);
      return;
    }
    const store = getKey('store_id');
    try {
      const { orders = [] } = await api('/v1/stores/' + encodeURIComponent(store) + '/tickets', { key: getKey('merchant_key') });
      replace(msg);
      draw(orders);
      updated.textContent = '更新于 ' + hhmmss(new Date());
    } catch (err) {
      if (err.denied || err.status === 404) {
        replace(msg, notice('error', err.message));
        replace(list);
        body.append(h('p', {}, h('button', { type: 'button', onclick: () => ask() }, bi('重新输入', 'Enter again'))));
        return;
      }
      replace(msg, notice('error', bi('暂时无法更新', 'Could not refresh'), ': ', err.message));
    }
    timer = setTimeout(refresh, REFRESH_EVERY);
  }

  async function act(o, verb, payload, btn) {
    btn.disabled = true;
    try {
      await api('/v1/orders/' + encodeURIComponent(o.id) + ':' + verb, { key: getKey('merchant_key'), method: 'POST', body: payload });
      replace(msg);
    } catch (err) {
      replace(msg, notice('error', o.id, ': ', err.message));
    }
    refresh();
  }

  function draw(orders) {
    if (!orders.length) {
      replace(list, h('p', { class: 'muted empty' }, bi('暂无待处理订单', 'No open ticket')));
      return;
    }
    replace(list, orders.map((o) => ticket(o)));
  }

  function ticket(o) {
    const [szh, sen] = orderStatusLabel(o.status);
    const [dzh, den] = deliveryLabel(o.delivery);
    const status = o.status.replace('ORDER_STATUS_', '');
    const delivery = o.delivery.replace('DELIVERY_STATUS_', '');
    const actions = [];
    if (status === 'CREATED' || status === 'TICKET_SENT') {
      actions.push(h('button', { class: 'primary', type: 'button', 'data-action': 'accept',
        onclick: (ev) => act(o, 'accept', {}, ev.currentTarget) }, bi('接单', 'Accept')));
      actions.push(h('button', { type: 'button', 'data-action': 'reject', onclick: (ev) => {
        const why = prompt('拒单原因 Why reject (e.g. 缺货 out of stock)');
        if (why) act(o, 'reject', { reason: why }, ev.currentTarget);
      } }, bi('拒单', 'Reject')));
    }
    if (status === 'MERCHANT_ACCEPTED') {
      actions.push(h('button', { class: 'primary', type: 'button', 'data-action': 'ready',
        onclick: (ev) => act(o, 'markReady', {}, ev.currentTarget) }, bi('备货完成', 'Mark ready')));
    }
    if ((status === 'MERCHANT_ACCEPTED' || status === 'READY_FOR_PICKUP') && (delivery === 'ASSIGNED' || delivery === 'ARRIVED_AT_PICKUP')) {
      const code = h('input', { type: 'text', inputmode: 'numeric', maxlength: 6, placeholder: '骑手报的取货码 code', class: 'code-input' });
      actions.push(h('span', { class: 'handover-form' }, code, h('button', { type: 'button', 'data-action': 'handover',
        onclick: (ev) => act(o, 'handOver', { pickup_code: code.value.trim() }, ev.currentTarget) }, bi('交给骑手', 'Hand over'))));
    }
    actions.push(h('a', { class: 'button', href: '/receipt/' + encodeURIComponent(o.id) }, bi('销售凭证', 'Receipt')));

    const items = o.items || [];
    return h('article', { class: 'card ticket', 'data-order': o.id, 'data-status': o.status },
      h('div', { class: 'ticket-head' },
        h('div', {}, h('div', { class: 'mono order-id' }, o.id),
          h('div', { class: 'muted small' }, platformLabel(o.platform).join(' '), ' · ', sectionLabel(o.section).join(' '),
            ' · ', bi('下单', 'placed'), ' ', hhmm(o.placed_at), ' · ', bi('承诺', 'promise'), ' ', hhmm(o.promise_at))),
        h('div', { class: 'pickup' }, h('div', { class: 'muted small' }, bi('取货码', 'Pickup code')),
          h('div', { class: 'code' }, o.pickup_code || '——'))),
      h('div', { class: 'chips' },
        h('span', { class: 'chip' }, szh, ' ', h('span', { class: 'en' }, sen)),
        h('span', { class: 'chip' }, dzh, ' ', h('span', { class: 'en' }, den)),
        o.rider_id ? h('span', { class: 'chip' }, bi('骑手', 'Rider'), ' ', o.rider_id) : null,
        o.ready_at ? h('span', { class: 'chip' }, bi('备货时限', 'Ready by'), ' ', hhmm(o.ready_at)) : null),
      h('table', { class: 'list items' },
        h('tbody', {}, items.map((it) => h('tr', {},
          h('td', {}, it.name || it.sku, h('div', { class: 'muted small mono' }, it.sku)),
          h('td', { class: 'num qty' }, '× ' + num(it.qty)),
          h('td', { class: 'num' }, yuan(num(it.qty) * num(it.price_cents)))))),
        h('tfoot', {}, h('tr', {}, h('td', { colspan: 2 }, bi('商品金额', 'Goods')), h('td', { class: 'num' }, yuan(o.subtotal_cents))))),
      o.address || o.district ? h('p', { class: 'small' }, bi('送至', 'To'), ' ',
        o.district && !String(o.address).includes(o.district) ? o.district + ' ' : '', o.address || '') : null,
      h('div', { class: 'actions' }, actions));
  }

  if (getKey('store_id') && getKey('merchant_key')) show();
  else ask();
}
