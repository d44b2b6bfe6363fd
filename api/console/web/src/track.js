// The consumer's tracking page (/track/{token}): GET /v1/tracking/{token}
// needs no key, the token in the address is the consumer's right to the one
// order. It shows the status, the promise and the live ETA, the rider's
// rough position on a small map between pickup and drop-off, how the goods
// are handed over (the locker or drop point chosen, with its compound; the
// code that opens the locker slot or the drop point's shelf, and the
// reference of the rider's photo, once delivered),
// the rider's health card once the API carries one, the goods, and every
// step of the order's life.

import {
  api, bi, dateTime, deliveryLabel, ended, eventLabel, h, handoverLabel, header, hhmm, notice, orderStatusLabel,
  replace, s, yuan, num,
} from './common.js';
import { boxAround, cellToLatLng, districtLayer, gridDisk, hexPath, latLngToCell, Projection } from './map.js';

const REFRESH_EVERY = 5000;

export function start(root) {
  const token = decodeURIComponent(location.pathname.split('/')[2] || '');
  const body = h('main', { class: 'track' });
  replace(root, header('订单跟踪', 'Order tracking'), body);
  if (!token) {
    replace(body, notice('error', bi('链接不完整', 'The tracking link is incomplete')));
    return;
  }
  const path = '/v1/tracking/' + encodeURIComponent(token);
  let timer = 0;

  async function refresh() {
    clearTimeout(timer);
    try {
      const { tracking } = await api(path);
      draw(tracking);
      if (!ended(tracking.delivery, tracking.status)) timer = setTimeout(refresh, REFRESH_EVERY);
    } catch (err) {
      if (err.status === 404) {
        replace(body, notice('error', bi('找不到该订单，请检查链接。', 'No order has this tracking link.')));
        return;
      }
      body.prepend(notice('error', bi('暂时无法更新', 'Could not refresh'), ': ', err.message));
      timer = setTimeout(refresh, REFRESH_EVERY);
    }
  }

  async function confirm(btn) {
    btn.disabled = true;
    try {
      const { tracking } = await api(path + ':confirm', { method: 'POST', body: {} });
      draw(tracking);
    } catch (err) {
      btn.disabled = false;
      btn.after(notice('error', err.message));
    }
  }

  function draw(t) {
    const done = ended(t.delivery, t.status);
    const cancelled = done && t.delivery !== 'DELIVERY_STATUS_DELIVERED';
    // The store's ending says more than the delivery's "cancelled".
    const storeEnded = ['ORDER_STATUS_REJECTED', 'ORDER_STATUS_AUTO_CANCELLED'].includes(t.status);
    const [zh, en] = storeEnded ? orderStatusLabel(t.status) : deliveryLabel(t.delivery);
    const timeline = t.timeline || [];
    const delivered = timeline.find((e) => e.type === 'EVENT_TYPE_DELIVERED');
    const last = timeline[timeline.length - 1];
    const reason = [...timeline].reverse().find((e) => e.reason)?.reason;

    const times = h('dl', { class: 'promise' },
      h('div', {}, h('dt', {}, bi('承诺送达', 'Promised by')), h('dd', { id: 'promise' }, hhmm(t.promise_at))),
      delivered
        ? h('div', {}, h('dt', {}, bi('送达时间', 'Delivered at')), h('dd', { id: 'delivered-at' }, hhmm(delivered.at),
          ' ', onTime(delivered.at, t.promise_at)))
        : t.eta
          ? h('div', {}, h('dt', {}, bi('预计送达', 'ETA')), h('dd', { id: 'eta' }, hhmm(t.eta), ' ',
            h('span', { class: 'muted small' }, minutesUntil(t.eta))))
          : null);

    replace(body,
      h('section', { class: 'card status-card' },
        h('div', { class: 'status-line' },
          h('div', { class: 'status ' + (cancelled ? 'bad' : done ? 'good' : 'live'), id: 'status' }, zh,
            h('div', { class: 'en' }, en)),
          times),
        h('p', { class: 'store' }, t.store_name || ''),
        h('p', { class: 'muted small' }, bi('订单号', 'Order'), ' ', h('span', { class: 'mono', id: 'order-id' }, t.order_id)),
        reason ? notice('info', bi('原因', 'Reason'), ': ', reason) : null,
        t.delivery === 'DELIVERY_STATUS_DELIVERED' && !t.receipt_confirmed
          ? h('button', { class: 'primary', id: 'confirm', type: 'button', onclick: (ev) => confirm(ev.currentTarget) },
            bi('确认收货', 'Confirm receipt'))
          : t.receipt_confirmed ? h('p', { class: 'ok' }, bi('✓ 已确认收货', 'Receipt confirmed')) : null),
      t.rider_position ? riderCard(t.rider_position) : null,
      handoverCard(t),
      healthCard(t),
      h('section', { class: 'card' }, h('h2', {}, bi('商品', 'Goods')), itemsTable(t.items || [])),
      h('section', { class: 'card' }, h('h2', {}, bi('订单进度', 'Timeline')),
        h('ol', { class: 'timeline', id: 'timeline' }, [...timeline].reverse().map((e) => {
          const [ezh, een] = eventLabel(e.type);
          return h('li', { class: e === last ? 'current' : '', 'data-type': e.type },
            h('time', { datetime: e.at }, dateTime(e.at)),
            h('div', { class: 'step' }, ezh, ' ', h('span', { class: 'en' }, een)),
            e.reason ? h('div', { class: 'muted small' }, e.reason) : null);
        }))));
  }

  refresh();
}

function onTime(at, promise) {
  if (!at || !promise) return null;
  return new Date(at) <= new Date(promise)
    ? h('span', { class: 'chip good' }, '准时 On time')
    : h('span', { class: 'chip bad' }, '超时 Late');
}

function minutesUntil(ts) {
  const m = Math.round((new Date(ts) - Date.now()) / 60000);
  return m > 0 ? `约 ${m} 分钟 · in about ${m} min` : '即将送达 · any minute';
}

// riderCard draws the rider's rough position (about 100 m, as the API
// rounds it) as its H3 cell on a small map of the neighbourhood's cells and
// district lines.
function riderCard(p) {
  const W = 360, H = 240;
  const proj = new Projection(boxAround(p.lat, p.lng, 1500), W, H, 0);
  const cell = latLngToCell(p.lat, p.lng, 9);
  const [clat, clng] = cellToLatLng(cell);
  const [x, y] = proj.point(clng, clat);
  const around = gridDisk(latLngToCell(p.lat, p.lng, 8), 4);
  return h('section', { class: 'card' },
    h('h2', {}, bi('骑手位置', 'Where the rider is')),
    s('svg', { class: 'minimap', id: 'rider-map', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': '骑手位置 Rider position' },
      s('g', { class: 'layer-grid' }, around.map((c) => s('path', { class: 'cell near', d: hexPath(proj, c) }))),
      districtLayer(proj, { labels: false }),
      s('path', { class: 'hex rider-cell', d: hexPath(proj, cell) }),
      s('circle', { class: 'rider', cx: x, cy: y, r: 6 })),
    h('p', { class: 'muted small' }, `约 ${p.lat.toFixed(3)}, ${p.lng.toFixed(3)}，精确到约 100 米 · rounded to about 100 m`));
}

// dropoffCodeLabel names the code by where the goods are.
const dropoffCodeLabel = {
  HANDOVER_LOCKER: ['快递柜取件码', 'Locker code', '在快递柜输入此码即可打开格口取货。', 'Enter it at the parcel locker to open the slot.'],
  HANDOVER_DROP_POINT: ['取货点取件码', 'Drop point code', '在小区取货点出示此码取货。', 'Show it at the drop point to collect the goods.'],
};

// siteLabel names the kind of drop site the consumer chose.
const siteLabel = {
  HANDOVER_LOCKER: ['快递柜', 'Parcel locker'],
  HANDOVER_DROP_POINT: ['小区取货点', 'Drop point'],
};

// dropSite is the locker or drop point the goods go to, with its compound.
function dropSite(t) {
  if (!t.dropoff_site_name) return null;
  return h('p', { class: 'dropoff-site', id: 'dropoff-site' },
    bi(...(siteLabel[t.dropoff_method] || ['送达地点', 'Drop site'])), ': ',
    h('span', { id: 'dropoff-site-name' }, t.dropoff_site_name),
    t.dropoff_compound ? [' · ', h('span', { id: 'dropoff-compound' }, t.dropoff_compound)] : null);
}

function handoverCard(t) {
  let text;
  if (t.handover && t.handover !== 'HANDOVER_UNSPECIFIED') {
    const delivered = t.delivery === 'DELIVERY_STATUS_DELIVERED';
    const [czh, cen, hintZh, hintEn] = dropoffCodeLabel[t.handover] || ['取件码', 'Pickup code', '凭此码取货。', 'Use it to collect the goods.'];
    text = [
      h('p', { class: 'handover', id: 'handover' }, bi(...handoverLabel(t.handover))),
      dropSite(t),
      delivered && t.dropoff_code
        ? h('div', { class: 'dropoff-code-box' },
          h('div', { class: 'muted small' }, bi(czh, cen)),
          h('div', { class: 'dropoff-code', id: 'dropoff-code' }, t.dropoff_code),
          h('div', { class: 'muted small' }, hintZh, ' ', h('span', { class: 'en' }, hintEn)))
        : null,
      delivered && t.photo_ref
        ? h('p', { class: 'photo-ref small' }, bi('送达照片', 'Photo of the goods left'), ': ',
          h('span', { class: 'mono', id: 'photo-ref' }, t.photo_ref),
          h('span', { class: 'muted' }, ' · 骑手拍照留存，如有疑问请联系客服 · kept as proof; ask customer service to see it'))
        : null,
    ];
  } else if (ended(t.delivery, t.status)) {
    return null;
  } else {
    text = [dropSite(t), h('p', { class: 'handover', id: 'handover' },
      '本单为无接触配送：骑手到达后按您在平台上的要求放在门口、快递柜或小区取货点，并通知您取货。',
      h('br'), h('span', { class: 'en' },
        'Contactless delivery: the rider leaves the goods at your door, a parcel locker or the drop point as you asked, and lets you know.'))];
  }
  return h('section', { class: 'card' }, h('h2', {}, bi('交付方式', 'Drop-off')), text);
}

// healthCard shows the rider's health card when the tracking carries one
// (a field whose name has "health" in it, such as rider_health). The
// fields are read by what they look like, not by exact names: a
// temperature in °C, a health code's colour (绿码/黄码/红码), times.
function healthCard(t) {
  const name = Object.keys(t).find((k) => /health/i.test(k));
  const card = name && t[name];
  if (!card) return null;
  const rows = typeof card === 'object' && !Array.isArray(card)
    ? Object.entries(card).filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => h('div', { 'data-field': k }, h('dt', {}, healthLabel(k, v)), h('dd', {}, healthValue(k, v))))
    : [h('div', {}, h('dt', {}, name), h('dd', {}, healthValue(name, card)))];
  return h('section', { class: 'card', id: 'health-card' },
    h('h2', {}, bi('骑手健康信息', "Rider's health card")), h('dl', { class: 'kv' }, rows));
}

// A field is a temperature, a health code, a time, or something else.
const isTemperature = (k) => /temp/i.test(k);
const isTime = (k, v) => (typeof v === 'string' && /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d/.test(v)) || /(_at|At|time|date)$/i.test(k);
const codeColour = (v) => {
  const m = typeof v === 'string' && v.trim().toUpperCase().match(/(?:^|_)(GREEN|YELLOW|RED)$/);
  return m && m[1];
};

const healthCodes = {
  GREEN: ['绿码', 'GREEN', 'good'],
  YELLOW: ['黄码', 'YELLOW', 'warn'],
  RED: ['红码', 'RED', 'bad'],
};

const healthLabels = {
  valid: ['有效', 'Valid'], valid_until: ['有效期至', 'Valid until'], expires_at: ['有效期至', 'Valid until'],
  issued_at: ['发证日期', 'Issued'], number: ['证号', 'Number'], status: ['状态', 'Status'],
};

function healthLabel(k, v) {
  const l = healthLabels[k];
  if (l) return bi(...l);
  if (isTemperature(k)) return bi('体温', 'Temperature');
  if (codeColour(v) || /code/i.test(k)) return bi('健康码', 'Health code');
  if (isTime(k, v)) return bi('记录时间', 'Recorded at');
  return k.replace(/_/g, ' ');
}

// FEVER is the temperature from which a rider counts as having a fever.
const FEVER = 37.3;

function healthValue(k, v) {
  if (typeof v === 'boolean') return v ? '是 Yes' : '否 No';
  const colour = codeColour(v);
  if (colour) {
    const [zh, en, kind] = healthCodes[colour];
    return h('span', { class: 'chip health-code ' + kind, 'data-code': colour }, zh, ' ', en);
  }
  if (isTemperature(k) && v !== '' && Number.isFinite(Number(v))) {
    const c = Number(v);
    return [h('span', { class: 'temperature' }, c.toFixed(1) + ' °C'), ' ',
      c >= FEVER ? h('span', { class: 'chip bad' }, '体温偏高 Fever') : h('span', { class: 'chip good' }, '正常 Normal')];
  }
  if (isTime(k, v) && typeof v === 'string' && !Number.isNaN(Date.parse(v))) return dateTime(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function itemsTable(items) {
  const total = items.reduce((sum, it) => sum + num(it.qty) * num(it.price_cents), 0);
  return h('table', { class: 'list items' },
    h('tbody', {}, items.map((it) => h('tr', {},
      h('td', {}, it.name || it.sku), h('td', { class: 'num' }, '× ' + num(it.qty)),
      h('td', { class: 'num' }, yuan(num(it.qty) * num(it.price_cents)))))),
    h('tfoot', {}, h('tr', {}, h('td', { colspan: 2 }, bi('商品合计', 'Goods')), h('td', { class: 'num' }, yuan(total)))));
}
