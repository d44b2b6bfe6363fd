// The dispatch console (/): the live map of the city in H3 hexagons with the
// demand of active orders, pending and moving orders, the riders, and the
// stores with their 1-hour circles (GET /v1/stores, an operator key); the
// dispatcher's running figures (GET /v1/dispatch, an operator key); and the
// bureau's festival charts (GET /v1/figures, a bureau key): orders by
// district, section, platform and day, the cancellations by reason, a
// section × day table (then_by), and the CSV of the figures by district and
// day (GET /v1/figures.csv, fetched with the key and saved through a Blob);
// the bureau's contact tracing (contacts.js); and the operators' desk
// (operations.js): suspensions and their audit, the flagged stores, the
// riders' working time, the drop sites and the platforms' free deliveries.

import {
  ArcElement, BarController, BarElement, CategoryScale, Chart, DoughnutController, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip,
} from 'chart.js';
import { interpolateYlOrRd } from 'd3-scale-chromatic';
import {
  adoptURLKeys, api, bi, deliveryLabel, download, fmtInt, getKey, h, header, hhmm, hhmmss, isMoving, isPending, keyForm,
  notice, num, orderStatusLabel, pct, PLATFORMS, platformLabel, replace, s, sectionLabel, yuan,
} from './common.js';
import { Campaigns } from './campaigns.js';
import { Contacts } from './contacts.js';
import { boundsOf, districtCells, districtLayer, hexPath, latLngToCell, Projection, urbanFeatures } from './map.js';
import { AUDIT_QUERY, Operations } from './operations.js';
import { StoresLayer } from './stores.js';

Chart.register(ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip);
Chart.defaults.font.family = getComputedStyle(document.documentElement).getPropertyValue('--font').trim() || 'sans-serif';
Chart.defaults.animation = false;

const MAP_W = 900;
const MAP_H = 720;
// HEAT_RES is the H3 resolution of the demand heat (about 0.7 km² a cell);
// GRID_RES that of the city's base grid.
const HEAT_RES = 8;
const GRID_RES = 7;
const DISPATCH_EVERY = 2000;
const FIGURES_EVERY = 10000;
// Stores change rarely and their circles are heavy: once a minute.
const STORES_EVERY = 60000;
// The suspensions and the flagged stores: every 10 seconds.
const OPS_EVERY = 10000;

const DISPATCH_FIGURES = [
  ['pending', '待分配订单', 'Pending orders'],
  ['riders', '在岗骑手', 'Riders on shift'],
  ['active_trips', '进行中行程', 'Active trips'],
  ['rounds', '调度轮次', 'Rounds'],
  ['offers', '派单', 'Offers'],
  ['accepted', '接单', 'Accepted'],
  ['declined', '拒单', 'Declined'],
  ['expired', '派单超时', 'Expired'],
  ['reassigned', '改派', 'Reassigned'],
  ['cancelled', '取消', 'Cancelled'],
];

const BUREAU_TOTALS = [
  ['orders', '订单', 'Orders', (r) => fmtInt(r.orders)],
  ['delivered', '已送达', 'Delivered', (r) => fmtInt(r.delivered)],
  ['within', '60分钟送达率', 'Within 60 min', (r) => delivered(r, pct(r.within_60_min_share))],
  ['p50', '送达时长中位数', 'Click-to-door p50', (r) => delivered(r, num(r.click_to_door_p50_min).toFixed(1) + ' min')],
  ['p90', '送达时长 P90', 'Click-to-door p90', (r) => delivered(r, num(r.click_to_door_p90_min).toFixed(1) + ' min')],
  ['gmv', '成交额', 'GMV delivered', (r) => yuan(r.gmv_cents)],
  ['cancelled', '未送达结束', 'Ended undelivered', (r) => fmtInt(r.cancelled)],
];

// EXPORT_QUERY is the query of the CSV the bureau downloads: the figures by
// district, then by day.
const EXPORT_QUERY = 'group_by=district&then_by=day';

// The figures fetched at each refresh: the groupings of the charts, then
// the section × day table.
const FIGURE_QUERIES = {
  district: 'group_by=GROUPING_DISTRICT',
  section: 'group_by=GROUPING_SECTION',
  platform: 'group_by=GROUPING_PLATFORM',
  day: 'group_by=GROUPING_DAY',
  sectionDay: 'group_by=GROUPING_SECTION&then_by=GROUPING_DAY',
};

// The reasons the API counts, as words: an order's own reason is free text
// (shown as it is), the rest are the ending's status in lower case.
const REASONS = {
  rejected: ['商家拒单', 'Rejected by the store'],
  auto_cancelled: ['商家未确认，自动取消', 'Auto-cancelled, store did not answer'],
  cancelled: ['订单取消', 'Cancelled'],
  returned: ['退回门店', 'Returned to the store'],
  failed: ['配送失败', 'Delivery failed'],
  'merchant no response': ['商家未响应', 'Merchant no response'],
  'no answer': ['商家未响应', 'Store did not answer'],
  'sold out': ['售罄', 'Sold out'],
  'out of stock': ['缺货', 'Out of stock'],
};

function reasonLabel(reason) {
  const l = REASONS[String(reason).trim().toLowerCase()];
  return l ? bi(...l) : reason || '—';
}

const COLORS = { orders: '#3b6fd8', delivered: '#2e9d6a', cancelled: '#c9524a', p50: '#8a5cd1', p90: '#e0912f' };

export function start(root) {
  adoptURLKeys();
  const el = {};
  const changeKeys = h('button', { class: 'ghost', type: 'button', onclick: () => showKeys() }, bi('更换密钥', 'Keys'));
  const updated = h('span', { class: 'muted small', id: 'updated' });
  const keysBox = h('div', { id: 'keys-box' });

  // The map: the base grid, district outlines, then the live layers.
  const proj = new Projection(boundsOf(urbanFeatures), MAP_W, MAP_H);
  const grid = s('g', { class: 'layer-grid' },
    districtCells(GRID_RES).map(({ code, cell }) => s('path', { class: 'cell d' + code, d: hexPath(proj, cell) })));
  el.heat = s('g', { class: 'layer-heat' });
  el.orders = s('g', { class: 'layer-orders' });
  el.riders = s('g', { class: 'layer-riders' });
  const svg = s('svg', {
    id: 'map', class: 'map', viewBox: `0 0 ${MAP_W} ${MAP_H}`, role: 'img', 'aria-label': '郑州实时配送地图 Live map of Zhengzhou',
  });
  // The stores' faint circles lie over the heat, under the orders and the
  // riders; the focused circle and the stores' squares on top.
  const stores = new StoresLayer(proj, svg);
  svg.append(grid, districtLayer(proj), el.heat, stores.circles, el.orders, el.riders, stores.focus, stores.markers);
  el.storesCount = h('span', { id: 'stores-count' }, '—');
  el.storesMsg = h('div', { id: 'stores-msg' });
  const showCircles = h('input', {
    type: 'checkbox', id: 'show-circles', checked: true,
    onchange: () => svg.classList.toggle('no-circles', !showCircles.checked),
  });
  stores.onDraw = () => {
    const { total, suspended, bySection } = stores.summary();
    el.storesCount.textContent = `${total} 家 stores` + (suspended ? ` · ${suspended} 家暂停 suspended` : '');
    el.storesCount.title = Object.entries(bySection).map(([k, n]) => `${k} ${n}`).join(' · ');
  };

  const legend = h('ul', { class: 'legend' },
    h('li', {}, h('span', { class: 'swatch heat-ramp' }), bi('需求热度（H3 8级六边形，活跃订单数）', 'Demand: active orders per H3 res-8 cell')),
    h('li', {}, h('span', { class: 'dot order pending' }), bi('待分配订单', 'Pending order')),
    h('li', {}, h('span', { class: 'dot order moving' }), bi('配送中订单', 'Moving order')),
    h('li', {}, h('span', { class: 'dot rider' }), bi('骑手（空闲）', 'Rider, free')),
    h('li', {}, h('span', { class: 'dot rider busy' }), bi('骑手（载货）', 'Rider, loaded')),
    h('li', {}, h('span', { class: 'swatch-sq deals' }), h('span', { class: 'swatch-sq made' }),
      h('span', { class: 'swatch-sq flavours' }), bi('门店（按板块：特惠、制造、百味）', 'Store by section: deals, made, flavours')),
    h('li', {}, h('span', { class: 'swatch-sq suspended' }), bi('暂停销售的门店', 'Suspended store')),
    h('li', {}, h('label', { class: 'toggle' }, showCircles, h('span', { class: 'swatch-ring' }),
      bi('门店 1 小时服务圈（H3 8级格的外轮廓；悬停或点击门店突出显示）', 'Store 1-hour circle: outline of its H3 res-8 cells; hover or click a store'))),
    h('li', { class: 'muted' }, bi('门店', 'Stores'), ' ', el.storesCount));

  el.figures = h('div', { class: 'tiles', id: 'dispatch-figures' },
    DISPATCH_FIGURES.map(([k, zh, en]) => h('div', { class: 'tile' },
      h('div', { class: 'tile-value', id: 'fig-' + k }, '—'), h('div', { class: 'tile-label' }, bi(zh, en)))),
    h('div', { class: 'tile' }, h('div', { class: 'tile-value', id: 'fig-acceptance' }, '—'),
      h('div', { class: 'tile-label' }, bi('接单率', 'Acceptance'))),
    h('div', { class: 'tile' }, h('div', { class: 'tile-value', id: 'fig-moving' }, '—'),
      h('div', { class: 'tile-label' }, bi('配送中订单', 'Moving orders'))));
  el.dispatchMsg = h('div', { id: 'dispatch-msg' });
  el.waiting = h('tbody', {});

  el.totals = h('div', { class: 'tiles', id: 'bureau-totals' },
    BUREAU_TOTALS.map(([k, zh, en]) => h('div', { class: 'tile' },
      h('div', { class: 'tile-value', id: 'tot-' + k }, '—'), h('div', { class: 'tile-label' }, bi(zh, en)))));
  el.bureauMsg = h('div', { id: 'bureau-msg' });
  el.districtRows = h('tbody', {});
  el.reasonRows = h('tbody', {});
  el.sectionDayRows = h('tbody', {});
  el.exportMsg = h('span', { class: 'small', id: 'export-msg', role: 'status' });
  el.exportButton = h('button', {
    type: 'button', id: 'export-csv', class: 'export', onclick: (ev) => exportCSV(ev.currentTarget),
    title: '按区和日期导出 CSV · by district and day',
  }, bi('导出 CSV', 'Export CSV'));
  const ops = new Operations();
  const campaigns = new Campaigns();
  const contacts = new Contacts();
  const canvas = (id) => h('div', { class: 'chart' }, h('canvas', { id }));

  replace(root,
    header('调度台', 'Dispatch console', updated, changeKeys),
    keysBox,
    h('main', { class: 'console' },
      h('section', { class: 'card map-card' },
        h('div', { class: 'card-head' }, h('h2', {}, bi('实时地图', 'Live map')),
          h('span', { class: 'muted small' }, bi('每 2 秒刷新，门店每分钟', 'refreshes every 2 s, stores every minute'))),
        h('div', { class: 'map-wrap' }, svg, stores.tip), legend, el.storesMsg),
      h('aside', { class: 'side' },
        h('section', { class: 'card' }, h('h2', {}, bi('调度数据', 'Dispatch figures')), el.dispatchMsg, el.figures),
        h('section', { class: 'card' }, h('h2', {}, bi('等待骑手的订单', 'Orders waiting for a rider')),
          h('table', { class: 'list' },
            h('thead', {}, h('tr', {}, h('th', {}, bi('订单', 'Order')), h('th', {}, bi('状态', 'Status')),
              h('th', {}, bi('承诺', 'Promise')))),
            el.waiting)))),
    ops.card,
    h('section', { class: 'card bureau' },
      h('div', { class: 'card-head' }, h('h2', {}, bi('购物节数据（商务局）', 'Festival figures for the Commerce Bureau')),
        h('span', { class: 'muted small head-note' }, bi('汇总数据，不含个人信息', 'aggregates only, no personal data')),
        h('span', { class: 'export-box' }, el.exportMsg, el.exportButton)),
      el.bureauMsg, el.totals, campaigns.el,
      h('div', { class: 'charts' },
        h('figure', { class: 'wide' }, h('figcaption', {}, bi('各区订单', 'Orders by district')), canvas('chart-district')),
        h('figure', {}, h('figcaption', {}, bi('板块', 'By section')), canvas('chart-section')),
        h('figure', {}, h('figcaption', {}, bi('各区送达时效', 'Timeliness by district')), canvas('chart-timeliness')),
        h('figure', {}, h('figcaption', {}, bi('平台', 'By platform')), canvas('chart-platform')),
        h('figure', {}, h('figcaption', {}, bi('每日', 'By day')), canvas('chart-day')),
        h('figure', { class: 'wide' }, h('figcaption', {}, bi('未送达订单的原因（合计）', 'Orders ended undelivered, by reason (total)')),
          canvas('chart-reasons')),
        h('figure', {}, h('figcaption', {}, bi('原因明细', 'Reasons')),
          h('table', { class: 'list', id: 'reason-table' },
            h('thead', {}, h('tr', {}, h('th', {}, bi('原因', 'Reason')), h('th', { class: 'num' }, bi('单数', 'Orders')),
              h('th', { class: 'num' }, bi('占比', 'Share')))),
            el.reasonRows))),
      h('table', { class: 'list figures-table', id: 'district-table' },
        h('thead', {}, h('tr', {}, ['区 District', '订单 Orders', '送达 Delivered', '60分钟内 ≤60 min', 'P50', 'P90',
          '成交额 GMV', '未送达 Undelivered'].map((t) => h('th', {}, t)))),
        el.districtRows),
      h('h3', { class: 'table-title' }, bi('板块 × 日期', 'Section × day'),
        h('span', { class: 'muted small' }, ' · 时长为下单到送达的分钟数 · minutes from order to door')),
      h('table', { class: 'list figures-table', id: 'section-day-table' },
        h('thead', {}, h('tr', {}, ['板块 Section', '日期 Day', '订单 Orders', '送达 Delivered', '60分钟内 ≤60 min', 'P50 分钟 min',
          'P90 分钟 min'].map((t, i) => h('th', { class: i > 1 ? 'num' : '' }, t)))),
        el.sectionDayRows),
      contacts.el));

  const charts = makeCharts();
  let dispatchTimer = 0;
  let figuresTimer = 0;
  let storesTimer = 0;
  let opsTimer = 0;
  // gen tells the refresh loops of an earlier set of keys to stop.
  let gen = 0;

  function showKeys() {
    replace(keysBox, keyForm([
      { name: 'operator_key', zh: '运营密钥', en: 'Operator key (dispatch view)' },
      { name: 'bureau_key', zh: '商务局密钥', en: 'Bureau key (festival figures)' },
    ], () => {
      replace(keysBox);
      restart();
    }, '调度视图需要运营密钥，购物节图表需要商务局密钥。 The dispatch view needs an operator key, the charts a bureau key.'));
  }

  function restart() {
    clearTimeout(dispatchTimer);
    clearTimeout(figuresTimer);
    clearTimeout(storesTimer);
    clearTimeout(opsTimer);
    gen++;
    refreshDispatch(gen);
    refreshFigures(gen);
    refreshStores(gen);
    refreshOps(gen);
  }

  async function refreshOps(g) {
    const key = getKey('operator_key');
    if (!key) return;
    try {
      const [susp, list, sites, ...quotas] = await Promise.all([
        api('/v1/suspensions?' + AUDIT_QUERY, { key }), api('/v1/stores', { key }), api('/v1/drop-sites', { key }),
        ...PLATFORMS.map((p) => api('/v1/platforms/' + encodeURIComponent(p) + '/freeDeliveryQuota', { key }))]);
      if (g !== gen) return;
      replace(ops.msg);
      ops.drawStores((list && list.stores) || []);
      ops.drawSuspensions(susp || {});
      ops.drawSites((sites && sites.sites) || []);
      ops.drawQuotas(quotas.map((q) => (q && q.quota) || {}));
      contacts.setSites((sites && sites.sites) || []);
      contacts.setStores((list && list.stores) || []);
    } catch (err) {
      if (g !== gen) return;
      replace(ops.msg, notice('error', bi('运营', 'Operations'), ': ', err.message));
      if (err.denied) return;
    }
    if (g === gen) opsTimer = setTimeout(refreshOps, OPS_EVERY, g);
  }

  async function refreshStores(g) {
    const key = getKey('operator_key');
    if (!key) return;
    try {
      const resp = await api('/v1/stores?include_circles=true', { key });
      if (g !== gen) return;
      replace(el.storesMsg);
      stores.update((resp && resp.stores) || []);
    } catch (err) {
      if (g !== gen) return;
      replace(el.storesMsg, notice('error', bi('门店', 'Stores'), ': ', err.message));
      if (err.denied) return;
    }
    if (g === gen) storesTimer = setTimeout(refreshStores, STORES_EVERY, g);
  }

  async function refreshDispatch(g) {
    const key = getKey('operator_key');
    if (!key) {
      replace(el.dispatchMsg, notice('info', bi('未设置运营密钥。', 'No operator key.')));
      return;
    }
    try {
      const view = await api('/v1/dispatch?limit=2000', { key });
      if (g !== gen) return;
      replace(el.dispatchMsg);
      drawDispatch(view);
      updated.textContent = '更新于 ' + hhmmss(view.at);
    } catch (err) {
      replace(el.dispatchMsg, notice('error', bi('调度视图', 'Dispatch view'), ': ', err.message));
      if (err.denied) return;
    }
    if (g === gen) dispatchTimer = setTimeout(refreshDispatch, DISPATCH_EVERY, g);
  }

  function drawDispatch(view) {
    const f = view.figures || {};
    for (const [k] of DISPATCH_FIGURES) document.getElementById('fig-' + k).textContent = fmtInt(f[k]);
    const answered = num(f.accepted) + num(f.declined) + num(f.expired);
    document.getElementById('fig-acceptance').textContent = answered ? pct(num(f.accepted) / answered) : '—';
    const orders = view.orders || [];
    const riders = view.riders || [];
    document.getElementById('fig-moving').textContent = fmtInt(orders.filter(isMoving).length);

    // Demand heat: active orders' drop-offs counted per H3 cell.
    const counts = new Map();
    for (const o of orders) {
      if (!o.dropoff) continue;
      const c = latLngToCell(o.dropoff.lat, o.dropoff.lng, HEAT_RES);
      counts.set(c, (counts.get(c) || 0) + 1);
    }
    const max = Math.max(1, ...counts.values());
    replace(el.heat, [...counts].map(([cell, n]) => s('path', {
      class: 'hex heat', d: hexPath(proj, cell), fill: interpolateYlOrRd(0.12 + (0.88 * n) / max), 'data-cell': cell, 'data-count': n,
    }, s('title', {}, `需求 ${n} 单 · demand ${n} · ${cell}`))));

    replace(el.orders, orders.filter((o) => o.dropoff).map((o) => {
      const [x, y] = proj.point(o.dropoff.lng, o.dropoff.lat);
      const kind = isPending(o) ? 'pending' : isMoving(o) ? 'moving' : 'other';
      const [zh, en] = deliveryLabel(o.delivery);
      return s('circle', { class: 'order ' + kind, cx: x.toFixed(1), cy: y.toFixed(1), r: 2.6, 'data-order': o.id },
        s('title', {}, `${o.id} · ${zh} ${en} · ${o.district || ''}`));
    }));
    replace(el.riders, riders.filter((r) => r.position).map((r) => {
      const [x, y] = proj.point(r.position.lng, r.position.lat);
      const load = num(r.load);
      return s('circle', { class: 'rider' + (load > 0 ? ' busy' : ''), cx: x.toFixed(1), cy: y.toFixed(1), r: 3.4, 'data-rider': r.rider_id },
        s('title', {}, `骑手 Rider ${r.rider_id} · ${load}/${num(r.capacity)}`));
    }));

    ops.drawRiders(riders);

    const waiting = orders.filter(isPending).slice(0, 8);
    replace(el.waiting, waiting.length ? waiting.map((o) => {
      const [zh, en] = deliveryLabel(o.delivery);
      const [szh] = orderStatusLabel(o.status);
      return h('tr', {},
        h('td', {}, h('div', { class: 'mono' }, o.id),
          h('div', { class: 'muted small links' }, o.district || '', ' ',
            o.tracking_token ? h('a', { href: '/track/' + encodeURIComponent(o.tracking_token) }, '跟踪 track') : null, ' ',
            h('a', { href: '/receipt/' + encodeURIComponent(o.id) }, '凭证 receipt'))),
        h('td', {}, zh, ' ', h('span', { class: 'en' }, en), h('div', { class: 'muted small' }, szh)),
        h('td', {}, hhmm(o.promise_at)));
    }) : h('tr', {}, h('td', { colspan: 3, class: 'muted' }, bi('没有等待中的订单', 'No order is waiting'))));
  }

  async function refreshFigures(g) {
    const key = getKey('bureau_key');
    if (!key) {
      replace(el.bureauMsg, notice('info', bi('未设置商务局密钥。', 'No bureau key.')));
      return;
    }
    try {
      campaigns.refresh(key);
      const names = Object.keys(FIGURE_QUERIES);
      const answers = await Promise.all(names.map((n) => api('/v1/figures?' + FIGURE_QUERIES[n], { key })));
      if (g !== gen) return;
      replace(el.bureauMsg);
      drawFigures(Object.fromEntries(names.map((n, i) => [n, answers[i] || {}])));
    } catch (err) {
      replace(el.bureauMsg, notice('error', bi('购物节数据', 'Festival figures'), ': ', err.message));
      if (err.denied) return;
    }
    if (g === gen) figuresTimer = setTimeout(refreshFigures, FIGURES_EVERY, g);
  }

  // exportCSV downloads the figures by district and day as CSV, with the
  // bureau key; the button keeps the answer's status in data-status.
  async function exportCSV(btn) {
    const key = getKey('bureau_key');
    if (!key) {
      showKeys();
      return;
    }
    btn.disabled = true;
    btn.dataset.status = 'pending';
    replace(el.exportMsg);
    el.exportMsg.className = 'small muted';
    try {
      const day = new Date().toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' }); // YYYY-MM-DD in CST
      const got = await download('/v1/figures.csv?' + EXPORT_QUERY, { key, filename: `zhengxiang-figures-district-day-${day}.csv` });
      btn.dataset.status = String(got.status);
      btn.dataset.bytes = String(got.bytes);
      replace(el.exportMsg, '已导出 ', got.filename);
    } catch (err) {
      btn.dataset.status = String(err.status || 'error');
      el.exportMsg.className = 'small error-text';
      replace(el.exportMsg, bi('导出失败', 'Export failed'), ': ', err.message);
    } finally {
      btn.disabled = false;
    }
  }

  function drawFigures({ district, section, platform, day, sectionDay }) {
    const total = district.total || {};
    for (const [k, , , fmt] of BUREAU_TOTALS) document.getElementById('tot-' + k).textContent = fmt(total);
    const rows = district.rows || [];
    set(charts.district, rows.map((r) => r.group), [
      rows.map((r) => num(r.orders)), rows.map((r) => num(r.delivered)), rows.map((r) => num(r.cancelled))]);
    // Times and shares exist only where something was delivered.
    const timed = rows.filter((r) => num(r.delivered) > 0);
    set(charts.timeliness, timed.map((r) => r.group), [
      timed.map((r) => num(r.click_to_door_p50_min)), timed.map((r) => num(r.click_to_door_p90_min)),
      timed.map((r) => 100 * num(r.within_60_min_share))]);
    const sec = section.rows || [];
    set(charts.section, sec.map((r) => sectionLabel(r.group).join(' ')), [sec.map((r) => num(r.orders))]);
    const pf = platform.rows || [];
    set(charts.platform, pf.map((r) => platformLabel(r.group).join(' ')), [
      pf.map((r) => num(r.orders)), pf.map((r) => num(r.delivered))]);
    const days = day.rows || [];
    set(charts.day, days.map((r) => r.group), [days.map((r) => num(r.orders)), days.map((r) => num(r.delivered))]);

    replace(el.districtRows, rows.map((r) => h('tr', {},
      h('td', {}, r.group), h('td', {}, fmtInt(r.orders)), h('td', {}, fmtInt(r.delivered)),
      h('td', {}, delivered(r, pct(r.within_60_min_share))), h('td', {}, delivered(r, num(r.click_to_door_p50_min).toFixed(1))),
      h('td', {}, delivered(r, num(r.click_to_door_p90_min).toFixed(1))), h('td', {}, yuan(r.gmv_cents)),
      h('td', {}, fmtInt(r.cancelled)))));

    // The cancellations of all groups together, most frequent first.
    const reasons = Object.entries(total.cancelled_by_reason || {}).map(([k, v]) => [k, num(v)])
      .filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const ended = reasons.reduce((sum, [, n]) => sum + n, 0);
    set(charts.reasons, reasons.map(([k]) => reasonText(k)), [reasons.map(([, n]) => n)]);
    replace(el.reasonRows, reasons.length
      ? reasons.map(([k, n]) => h('tr', { 'data-reason': k },
        h('td', {}, reasonLabel(k)), h('td', { class: 'num' }, fmtInt(n)), h('td', { class: 'num' }, pct(n / ended))))
      : h('tr', {}, h('td', { colspan: 3, class: 'muted' }, bi('没有未送达的订单', 'No order ended undelivered'))));

    // Section × day: a row per section and day, the section written once.
    const sd = sectionDay.rows || [];
    const span = new Map();
    for (const r of sd) span.set(r.section, (span.get(r.section) || 0) + 1);
    replace(el.sectionDayRows, sd.length ? sd.map((r, i) => h('tr', { 'data-section': r.section || '', 'data-day': r.day || '' },
      i === 0 || sd[i - 1].section !== r.section
        ? h('td', { rowspan: span.get(r.section), class: 'group-cell' }, bi(...sectionLabel(r.section)))
        : null,
      h('td', { class: 'mono' }, r.day || '—'), h('td', { class: 'num' }, fmtInt(r.orders)),
      h('td', { class: 'num' }, fmtInt(r.delivered)), h('td', { class: 'num' }, delivered(r, pct(r.within_60_min_share))),
      h('td', { class: 'num' }, delivered(r, num(r.click_to_door_p50_min).toFixed(1))),
      h('td', { class: 'num' }, delivered(r, num(r.click_to_door_p90_min).toFixed(1)))))
      : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, bi('暂无订单', 'No orders yet'))));
  }

  if (!getKey('operator_key') && !getKey('bureau_key')) showKeys();
  restart();
}

// delivered shows v for a group with deliveries, a dash for one without.
function delivered(r, v) {
  return num(r.delivered) > 0 ? v : '—';
}

// reasonText is a reason's label as one line, for a chart's axis.
function reasonText(reason) {
  const l = REASONS[String(reason).trim().toLowerCase()];
  return l ? l.join(' ') : reason || '—';
}

function set(chart, labels, series) {
  chart.data.labels = labels;
  series.forEach((data, i) => (chart.data.datasets[i].data = data));
  chart.update('none');
}

function makeCharts() {
  const opts = (extra = {}) => ({
    responsive: true, maintainAspectRatio: false,
    plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
    ...extra,
  });
  const bar = (label, color) => ({ label, data: [], backgroundColor: color, borderRadius: 3 });
  return {
    district: new Chart(document.getElementById('chart-district'), {
      type: 'bar',
      data: { labels: [], datasets: [bar('订单 Orders', COLORS.orders), bar('送达 Delivered', COLORS.delivered),
        bar('未送达 Undelivered', COLORS.cancelled)] },
      options: opts({ scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }),
    }),
    timeliness: new Chart(document.getElementById('chart-timeliness'), {
      type: 'bar',
      data: { labels: [], datasets: [bar('P50 分钟 min', COLORS.p50), bar('P90 分钟 min', COLORS.p90),
        { type: 'line', label: '60分钟内 % ≤60 min', data: [], yAxisID: 'share', borderColor: COLORS.delivered,
          backgroundColor: COLORS.delivered, pointRadius: 3 }] },
      options: opts({ scales: {
        y: { beginAtZero: true, title: { display: true, text: '分钟 min' } },
        share: { position: 'right', min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: '%' } },
      } }),
    }),
    section: new Chart(document.getElementById('chart-section'), {
      type: 'doughnut',
      data: { labels: [], datasets: [{ label: '订单 Orders', data: [], backgroundColor: ['#3b6fd8', '#e0912f', '#2e9d6a', '#8a5cd1'] }] },
      options: opts(),
    }),
    platform: new Chart(document.getElementById('chart-platform'), {
      type: 'bar',
      data: { labels: [], datasets: [bar('订单 Orders', COLORS.orders), bar('送达 Delivered', COLORS.delivered)] },
      options: opts({ indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }),
    }),
    day: new Chart(document.getElementById('chart-day'), {
      type: 'line',
      data: { labels: [], datasets: [
        { label: '订单 Orders', data: [], borderColor: COLORS.orders, backgroundColor: COLORS.orders },
        { label: '送达 Delivered', data: [], borderColor: COLORS.delivered, backgroundColor: COLORS.delivered }] },
      options: opts({ scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }),
    }),
    reasons: new Chart(document.getElementById('chart-reasons'), {
      type: 'bar',
      data: { labels: [], datasets: [{ ...bar('未送达订单 Orders ended undelivered', COLORS.cancelled), maxBarThickness: 26 }] },
      options: opts({ indexAxis: 'y', plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }),
    }),
  };
}
