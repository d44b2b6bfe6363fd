// Helpers shared by the console's pages: building DOM nodes safely, calling
// the REST API with a key, keeping keys in sessionStorage, and the Chinese
// and English labels of the API's enums.

const SVG = 'http://www.w3.org/2000/svg';

// h builds an HTML element: attributes (class, data-*, on* handlers,
// anything else as an attribute) and children (nodes or text). Text is
// always set as text, never parsed, so values from the API cannot inject
// markup.
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// s builds an SVG element like h.
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// replace empties el and puts the children in.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// bi is a Chinese label with its English beside it, smaller.
export function bi(zh, en) {
  return [zh, ' ', h('span', { class: 'en' }, en)];
}

// APIError is a failed call: the HTTP status and the API's message.
export class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
  // denied is true when the key is missing, wrong or of the wrong role.
  get denied() {
    return this.status === 401 || this.status === 403;
  }
}

// api calls the REST API: path under /v1, an optional key sent as a bearer
// token, and an optional JSON body.
export async function api(path, { key, method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = 'Bearer ' + key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    throw new APIError(resp.status, (data && data.message) || text.trim() || resp.statusText);
  }
  return data;
}

// download fetches a file of the API with the key (GET, sent as a bearer
// token, which a plain link cannot carry) and saves it through a Blob link.
// It returns the response's status and the bytes saved; a failed call
// throws an APIError as api does.
export async function download(path, { key, filename } = {}) {
  const headers = {};
  if (key) headers.Authorization = 'Bearer ' + key;
  const resp = await fetch(path, { headers, cache: 'no-store' });
  if (!resp.ok) {
    const text = await resp.text();
    let message = text.trim() || resp.statusText;
    try {
      message = JSON.parse(text).message || message;
    } catch {
      // not JSON: the text as it is
    }
    throw new APIError(resp.status, message);
  }
  const blob = await resp.blob();
  const disposition = resp.headers.get('Content-Disposition') || '';
  const name = filename || (disposition.match(/filename="?([^";]+)"?/) || [])[1] || 'download';
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  // The click has handed the Blob to the download; let it start first.
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return { status: resp.status, bytes: blob.size, filename: name };
}

// Keys live in sessionStorage: they last as long as the tab, are not sent
// anywhere but the API, and are gone when the tab closes.
const KEY_PARAMS = ['operator_key', 'bureau_key', 'merchant_key'];

export function getKey(name) {
  return sessionStorage.getItem('zx.' + name) || '';
}

export function setKey(name, value) {
  if (value) sessionStorage.setItem('zx.' + name, value.trim());
  else sessionStorage.removeItem('zx.' + name);
}

// adoptURLKeys moves keys given once in the address (?operator_key=...,
// for the demo) into sessionStorage and takes them out of the address bar
// and the history.
export function adoptURLKeys() {
  const url = new URL(location.href);
  let moved = false;
  for (const p of KEY_PARAMS) {
    const v = url.searchParams.get(p);
    if (v !== null) {
      setKey(p, v);
      url.searchParams.delete(p);
      moved = true;
    }
  }
  if (moved) history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

// num reads an int64 (a JSON string) or a number; 0 when absent.
export function num(v) {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
}

// yuan formats cents as ¥12.90.
export function yuan(cents) {
  return '¥' + (num(cents) / 100).toFixed(2);
}

export function pct(share) {
  return (100 * num(share)).toFixed(1) + '%';
}

export function fmtInt(v) {
  return num(v).toLocaleString('zh-CN');
}

// Times are shown in China Standard Time, the festival's.
const TZ = 'Asia/Shanghai';
const timeFmt = new Intl.DateTimeFormat('zh-CN', { timeZone: TZ, hour: '2-digit', minute: '2-digit', hour12: false });
const secFmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TZ, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});
const dateTimeFmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
});

export function hhmm(ts) {
  return ts ? timeFmt.format(new Date(ts)) : '—';
}

export function hhmmss(ts) {
  return ts ? secFmt.format(new Date(ts)) : '—';
}

export function dateTime(ts) {
  return ts ? dateTimeFmt.format(new Date(ts)) : '—';
}

// strip takes an enum's prefix off: DELIVERY_STATUS_PICKED_UP -> PICKED_UP.
function strip(v, prefix) {
  return String(v || '').replace(prefix, '');
}

function label(table, prefix) {
  return (v) => {
    const k = strip(v, prefix);
    return table[k] || [k || '—', ''];
  };
}

// Each label is [Chinese, English].
export const deliveryLabel = label({
  UNASSIGNED: ['待分配', 'Unassigned'],
  OFFERED: ['派单中', 'Offered'],
  ASSIGNED: ['骑手已接单', 'Rider assigned'],
  ARRIVED_AT_PICKUP: ['骑手已到店', 'Rider at the store'],
  PICKED_UP: ['配送中', 'On the way'],
  ARRIVED_AT_DROPOFF: ['骑手已到达', 'Rider at the door'],
  DELIVERED: ['已送达', 'Delivered'],
  CANCELLED: ['已取消', 'Cancelled'],
  FAILED: ['配送失败', 'Failed'],
  RETURNED: ['已退回门店', 'Returned'],
}, 'DELIVERY_STATUS_');

export const orderStatusLabel = label({
  CREATED: ['新订单', 'New'],
  TICKET_SENT: ['已出单', 'Ticket printed'],
  MERCHANT_ACCEPTED: ['已接单', 'Accepted'],
  READY_FOR_PICKUP: ['备货完成', 'Ready for pickup'],
  REJECTED: ['商家拒单', 'Rejected'],
  AUTO_CANCELLED: ['超时取消', 'Auto-cancelled'],
  CANCELLED: ['已取消', 'Cancelled'],
}, 'ORDER_STATUS_');

export const eventLabel = label({
  ORDER_CREATED: ['订单已提交', 'Order placed'],
  TICKET_SENT: ['卖场出单', 'Ticket printed at the store'],
  MERCHANT_ACCEPTED: ['商家已接单', 'Store accepted'],
  MERCHANT_REJECTED: ['商家拒单', 'Store rejected'],
  READY_FOR_PICKUP: ['备货完成', 'Goods packed'],
  AUTO_CANCELLED: ['商家未确认，自动取消', 'Auto-cancelled'],
  OFFERED: ['正在派单', 'Offered to a rider'],
  OFFER_DECLINED: ['骑手未接单，重新派单', 'Offer declined'],
  OFFER_EXPIRED: ['派单超时，重新派单', 'Offer expired'],
  ASSIGNED: ['骑手已接单', 'Rider assigned'],
  REASSIGNED: ['改派骑手', 'Reassigned'],
  ARRIVED_AT_PICKUP: ['骑手已到店', 'Rider at the store'],
  PICKED_UP: ['骑手已取货', 'Picked up'],
  ARRIVED_AT_DROPOFF: ['骑手已到达', 'Rider at the door'],
  DELIVERED: ['已送达', 'Delivered'],
  CANCELLED: ['订单已取消', 'Cancelled'],
  FAILED: ['配送失败', 'Delivery failed'],
  RETURNED: ['已退回门店', 'Returned to the store'],
  RECEIPT_CONFIRMED: ['已确认收货', 'Receipt confirmed'],
  HANDOVER_CODE_REJECTED: ['交付码错误', 'Wrong hand-over code'],
  PICKUP_CODE_REJECTED: ['取货码错误', 'Wrong pickup code'],
}, 'EVENT_TYPE_');

export const handoverLabel = label({
  IN_PERSON: ['当面交付', 'Handed over in person'],
  DOOR: ['无接触配送：已放在门口', 'Contactless: left at the door'],
  LOCKER: ['无接触配送：已放入快递柜', 'Contactless: put in a parcel locker'],
  DROP_POINT: ['无接触配送：已放在小区取货点', 'Contactless: left at the drop point'],
}, 'HANDOVER_');

// sectionLabel takes the enum (SECTION_DEALS) or the figures' group (deals).
export const sectionLabel = (v) => label({
  DEALS: ['郑享特惠', 'Deals'],
  MADE: ['郑享制造', 'Made in Zhengzhou'],
  FLAVOURS: ['郑享百味', 'Flavours'],
}, 'SECTION_')(String(v || '').toUpperCase());

const platforms = {
  eleme: ['饿了么', 'Ele.me'],
  meituan: ['美团', 'Meituan'],
  jddj: ['京东到家', 'JD Daojia'],
  uupt: ['UU跑腿', 'UU Paotui'],
};

// PLATFORMS are the delivery platforms the console knows.
export const PLATFORMS = Object.keys(platforms);

export function platformLabel(v) {
  return platforms[v] || [v || '—', ''];
}

// ended is true once the order's life is over (no ETA any more).
export function ended(delivery, status) {
  const d = strip(delivery, 'DELIVERY_STATUS_');
  const o = strip(status, 'ORDER_STATUS_');
  return ['DELIVERED', 'CANCELLED', 'RETURNED'].includes(d) || ['REJECTED', 'AUTO_CANCELLED', 'CANCELLED'].includes(o);
}

// isPending is true for an order waiting for a rider; isMoving for one a
// rider holds.
export function isPending(o) {
  return ['DELIVERY_STATUS_UNASSIGNED', 'DELIVERY_STATUS_OFFERED'].includes(o.delivery);
}

export function isMoving(o) {
  return [
    'DELIVERY_STATUS_ASSIGNED', 'DELIVERY_STATUS_ARRIVED_AT_PICKUP',
    'DELIVERY_STATUS_PICKED_UP', 'DELIVERY_STATUS_ARRIVED_AT_DROPOFF',
  ].includes(o.delivery);
}

// header is the top bar every page shares.
export function header(titleZh, titleEn, ...right) {
  return h('header', { class: 'bar' },
    h('a', { class: 'brand', href: '/' }, h('span', { class: 'logo' }, '郑享'), h('span', { class: 'en' }, 'Zhengxiang')),
    h('h1', {}, titleZh, ' ', h('span', { class: 'en' }, titleEn)),
    h('div', { class: 'bar-right' }, right));
}

// notice shows an error (or a message) in a box.
export function notice(kind, ...children) {
  return h('div', { class: 'notice ' + kind, role: kind === 'error' ? 'alert' : 'status' }, children);
}

// keyForm asks for keys: fields is a list of {name, zh, en}; onSave runs
// after they are stored.
export function keyForm(fields, onSave, intro) {
  const inputs = fields.map((f) => h('input', {
    id: 'key-' + f.name, name: f.name, type: f.secret === false ? 'text' : 'password',
    autocomplete: 'off', spellcheck: 'false', value: f.value ?? getKey(f.name), placeholder: f.placeholder || '',
  }));
  const form = h('form', { class: 'card key-form', id: 'key-form' },
    h('h2', {}, bi('访问密钥', 'API keys')),
    intro ? h('p', { class: 'muted' }, intro) : null,
    fields.map((f, i) => h('label', {}, h('span', {}, bi(f.zh, f.en)), inputs[i])),
    h('p', { class: 'muted small' }, '密钥只保存在本标签页 (sessionStorage)，关闭即清除。 ',
      h('span', { class: 'en' }, 'Keys stay in this tab only and are gone when it closes.')),
    h('button', { type: 'submit', class: 'primary' }, bi('保存并进入', 'Save and continue')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    fields.forEach((f, i) => (f.save ? f.save(inputs[i].value.trim()) : setKey(f.name, inputs[i].value.trim())));
    onSave();
  });
  return form;
}
