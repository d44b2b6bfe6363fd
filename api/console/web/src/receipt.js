// The printable sales receipt (销售凭证) of an order (/receipt/{order_id}),
// from GET /v1/orders/{id}/receipt with the merchant's key (or an operator's)
// from sessionStorage, or one typed into the form.

import {
  adoptURLKeys, api, bi, dateTime, deliveryLabel, getKey, h, header, keyForm, notice, num, orderStatusLabel,
  platformLabel, replace, sectionLabel, yuan,
} from './common.js';

export function start(root) {
  adoptURLKeys();
  const id = decodeURIComponent(location.pathname.split('/')[2] || '');
  const body = h('main', { class: 'receipt-page' });
  replace(root, header('销售凭证', 'Sales receipt',
    h('button', { class: 'ghost no-print', type: 'button', onclick: () => ask() }, bi('密钥', 'Key'))), body);

  function ask(message) {
    replace(body, message ? notice('error', message) : null, keyForm([
      { name: 'merchant_key', zh: '商户密钥', en: 'Merchant key (or a platform or operator key)' },
    ], load, '查看销售凭证需要门店的商户密钥。 A receipt needs the store\'s merchant key.'));
  }

  async function load() {
    const key = getKey('merchant_key') || getKey('operator_key');
    if (!key) {
      ask();
      return;
    }
    try {
      const { receipt } = await api('/v1/orders/' + encodeURIComponent(id) + '/receipt', { key });
      draw(receipt);
    } catch (err) {
      if (err.denied || err.status === 404) ask(err.message);
      else replace(body, notice('error', err.message));
    }
  }

  function draw(r) {
    const lines = r.lines || [];
    const [szh, sen] = orderStatusLabel(r.status);
    const [dzh, den] = deliveryLabel(r.delivery);
    replace(body,
      h('div', { class: 'no-print receipt-actions' },
        h('button', { class: 'primary', type: 'button', onclick: () => window.print() }, bi('打印', 'Print')),
        h('a', { class: 'button', href: '/store' }, bi('返回门店', 'Back to the store'))),
      h('article', { class: 'receipt', id: 'receipt' },
        h('header', {},
          h('div', { class: 'receipt-title' }, '销售凭证', h('div', { class: 'en' }, 'SALES RECEIPT')),
          h('div', { class: 'receipt-store', id: 'receipt-store' }, r.store_name || r.store_id),
          h('div', { class: 'muted small' }, bi('门店编号', 'Store'), ' ', r.store_id)),
        h('dl', { class: 'kv' },
          row('凭证号', 'Receipt no.', h('span', { class: 'mono', id: 'receipt-number' }, r.number)),
          row('订单号', 'Order', h('span', { class: 'mono' }, r.order_id)),
          row('平台', 'Platform', platformLabel(r.platform).join(' ')),
          row('板块', 'Section', sectionLabel(r.section).join(' ')),
          row('下单时间', 'Placed', dateTime(r.placed_at)),
          r.delivered_at ? row('送达时间', 'Delivered', dateTime(r.delivered_at)) : null,
          row('状态', 'Status', `${szh} / ${dzh}`, h('span', { class: 'en' }, ` ${sen} / ${den}`))),
        h('table', { class: 'lines', id: 'receipt-lines' },
          h('thead', {}, h('tr', {},
            h('th', {}, bi('商品', 'Item')), h('th', { class: 'num' }, bi('数量', 'Qty')),
            h('th', { class: 'num' }, bi('单价', 'Price')), h('th', { class: 'num' }, bi('金额', 'Amount')))),
          h('tbody', {}, lines.map((l) => h('tr', {},
            h('td', {}, l.name || l.sku, h('div', { class: 'muted small mono' }, l.sku)),
            h('td', { class: 'num' }, num(l.qty)),
            h('td', { class: 'num' }, yuan(l.unit_price_cents)),
            h('td', { class: 'num' }, yuan(l.amount_cents))))),
          h('tfoot', {},
            h('tr', {}, h('td', { colspan: 3 }, bi('商品金额', 'Goods')), h('td', { class: 'num' }, yuan(r.subtotal_cents))),
            h('tr', {}, h('td', { colspan: 3 }, bi('配送费', 'Delivery')),
              h('td', { class: 'num' }, r.free_delivery ? '免配送费 Free' : yuan(r.delivery_fee_cents))),
            h('tr', { class: 'total' }, h('td', { colspan: 3 }, bi('合计', 'Total')),
              h('td', { class: 'num', id: 'receipt-total' }, yuan(r.total_cents))))),
        h('footer', { class: 'small' },
          h('p', {}, '郑享 · 春暖郑州 网上购物节', h('span', { class: 'en' }, ' Zhengxiang, Zhengzhou online shopping festival')),
          h('p', { class: 'muted' }, '商品质量与售后服务由门店负责。', h('span', { class: 'en' }, ' The store answers for the goods and after-sales service.')))));
  }

  function row(zh, en, ...value) {
    return h('div', {}, h('dt', {}, bi(zh, en)), h('dd', {}, value));
  }

  if (!id) replace(body, notice('error', bi('缺少订单号', 'No order id in the address')));
  else load();
}
