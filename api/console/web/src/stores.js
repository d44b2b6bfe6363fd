// The stores layer of the live map (GET /v1/stores?include_circles=true):
// each store a small square coloured by its section (grey and crossed out
// while suspended), and its 1-hour delivery circle drawn as the outline of
// the union of its H3 cells. All circles are drawn faintly; the hovered or
// clicked store's circle strongly, with a card giving the store's details.
//
// Outlines are heavy to compute (h3-js cellsToMultiPolygon, a few ms for a
// circle of ~350 cells), so each is computed once per store and kept as a
// projected SVG path; the work runs in slices between frames so the page
// stays responsive, and a redraw only places the cached paths.

import { cellsToMultiPolygon, getHexagonAreaAvg } from 'h3-js';
import { bi, h, num, replace, s, sectionLabel } from './common.js';

// CIRCLE_RES is the H3 resolution of the circles' cells (the API's).
const CIRCLE_RES = 8;
const CELL_KM2 = getHexagonAreaAvg(CIRCLE_RES, 'km2');
// SLICE_MS bounds the outline work done before yielding to the page.
const SLICE_MS = 12;
const MARK = 3.2; // half the side of a store's square, in map units

// sectionClass turns SECTION_DEALS into deals.
function sectionClass(v) {
  return String(v || '').replace('SECTION_', '').toLowerCase() || 'none';
}

// outlinePath is the SVG path, projected and rounded to 0.1, of the outline
// of the union of the cells.
export function outlinePath(proj, cells) {
  let d = '';
  for (const poly of cellsToMultiPolygon(cells, true)) {
    for (const ring of poly) {
      let last = '';
      let n = 0;
      // GeoJSON rings repeat their first point at the end; Z closes them.
      for (let i = 0; i < ring.length - 1; i++) {
        const [x, y] = proj.point(ring[i][0], ring[i][1]);
        const p = x.toFixed(1) + ',' + y.toFixed(1);
        if (p === last) continue;
        d += (n++ ? 'L' : 'M') + p;
        last = p;
      }
      if (n) d += 'Z';
    }
  }
  return d;
}

// StoresLayer draws the stores on a map. circles, focus and markers are
// the SVG groups to stack on the map (in that order, the markers on top);
// tip is the focused store's card, to put in a positioned box around the
// SVG: it sits in the map's top left corner, away from the dense centre.
export class StoresLayer {
  constructor(proj, svg) {
    this.proj = proj;
    this.svg = svg;
    this.circles = s('g', { class: 'layer-circles' });
    this.focus = s('g', { class: 'layer-circle-focus' });
    this.markers = s('g', { class: 'layer-stores' });
    this.tip = h('div', { class: 'store-tip', id: 'store-tip', role: 'status', 'aria-live': 'polite', hidden: true });
    this.stores = new Map(); // id -> store as the API gave it (without its cells)
    this.outlines = new Map(); // id -> {sig, d, cells, v}
    this.version = 0; // of the outlines, so that a redraw sees a new one
    this.queue = []; // stores whose outline is still to compute: [{id, sig, cells}]
    this.pumping = false;
    this.drawnKey = '';
    this.hovered = '';
    this.selected = '';
    this.onDraw = () => {};

    this.markers.addEventListener('mouseover', (ev) => {
      const id = this.idAt(ev.target);
      if (id && id !== this.hovered) {
        this.hovered = id;
        this.showFocus();
      }
    });
    this.markers.addEventListener('mouseout', (ev) => {
      if (this.idAt(ev.relatedTarget) !== this.hovered) {
        this.hovered = '';
        this.showFocus();
      }
    });
    svg.addEventListener('click', (ev) => {
      // The pointer is on what it clicked: that is the hovered store too.
      const id = this.idAt(ev.target);
      this.selected = id && id !== this.selected ? id : '';
      this.hovered = id;
      this.showFocus();
    });
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && this.selected) {
        this.selected = '';
        this.showFocus();
      }
    });
  }

  idAt(node) {
    const el = node && node.closest ? node.closest('[data-store]') : null;
    return el && this.markers.contains(el) ? el.dataset.store : '';
  }

  // update takes the API's stores: outlines are queued for the stores that
  // are new or whose cells changed, and the markers are redrawn when
  // anything shown changed.
  update(list) {
    const seen = new Set();
    this.stores = new Map();
    this.queue = [];
    for (const st of list) {
      const { circle_cells: cells = [], ...info } = st;
      this.stores.set(st.store_id, info);
      seen.add(st.store_id);
      const sig = cells.length + ':' + cells.join(',');
      const cached = this.outlines.get(st.store_id);
      if (!cells.length) this.outlines.delete(st.store_id);
      else if (!cached || cached.sig !== sig) this.queue.push({ id: st.store_id, sig, cells });
    }
    for (const id of this.outlines.keys()) if (!seen.has(id)) this.outlines.delete(id);
    if (this.selected && !seen.has(this.selected)) this.selected = '';
    if (this.hovered && !seen.has(this.hovered)) this.hovered = '';
    this.draw();
    this.pump();
  }

  // pump computes queued outlines for SLICE_MS at a time, then yields; the
  // circles are redrawn once the queue is empty.
  pump() {
    if (this.pumping || !this.queue.length) return;
    this.pumping = true;
    const t0 = performance.now();
    let worked = 0;
    const step = () => {
      const until = performance.now() + SLICE_MS;
      while (this.queue.length && performance.now() < until) {
        const { id, sig, cells } = this.queue.shift();
        const w = performance.now();
        this.outlines.set(id, { sig, d: outlinePath(this.proj, cells), cells: cells.length, v: ++this.version });
        worked += performance.now() - w;
      }
      if (this.queue.length) {
        setTimeout(step, 0);
        return;
      }
      this.pumping = false;
      performance.measure('zx:store-outlines', { start: t0, end: performance.now() });
      this.svg.dataset.outlineMs = worked.toFixed(1);
      this.draw();
    };
    step();
  }

  // draw rebuilds the markers and the faint circles from the cache, unless
  // nothing they show changed since the last draw.
  draw() {
    const key = [...this.stores.values()].map((st) => [st.store_id, st.name, st.section, st.district,
      st.position && st.position.lat, st.position && st.position.lng, st.prep_minutes, !!st.suspended,
      this.outlines.has(st.store_id) ? this.outlines.get(st.store_id).v : 0].join('|')).join('\n');
    if (key === this.drawnKey) return;
    this.drawnKey = key;
    const t0 = performance.now();
    const circles = [];
    const markers = [];
    for (const st of this.stores.values()) {
      const kind = st.suspended ? 'suspended' : sectionClass(st.section);
      const o = this.outlines.get(st.store_id);
      if (o) circles.push(s('path', { class: 'circle ' + kind, d: o.d, 'data-store': st.store_id }));
      if (!st.position) continue;
      const [x, y] = this.proj.point(num(st.position.lng), num(st.position.lat));
      const x0 = (x - MARK).toFixed(1);
      const y0 = (y - MARK).toFixed(1);
      markers.push(s('rect', {
        class: 'store ' + kind, x: x0, y: y0, width: 2 * MARK, height: 2 * MARK, rx: 1, 'data-store': st.store_id,
      }));
      if (st.suspended) {
        const x1 = (x + MARK).toFixed(1);
        const y1 = (y + MARK).toFixed(1);
        markers.push(s('path', { class: 'store-mark', d: `M${x0},${y0}L${x1},${y1}M${x1},${y0}L${x0},${y1}`, 'data-store': st.store_id }));
      }
    }
    // Overlapping outlines add up: the more circles, the fainter each.
    const n = Math.max(1, circles.length);
    this.circles.style.setProperty('--circle-opacity', Math.min(0.6, Math.max(0.12, 1.5 / Math.sqrt(n))).toFixed(2));
    this.circles.style.setProperty('--circle-width', n > 30 ? '0.5' : '1');
    replace(this.circles, circles);
    replace(this.markers, markers);
    this.showFocus();
    const built = performance.now();
    // The time to draw includes the browser's style, layout and paint: up
    // to the frame after the one that shows the new layer.
    requestAnimationFrame(() => setTimeout(() => {
      const end = performance.now();
      performance.measure('zx:stores-draw', { start: t0, end });
      this.svg.dataset.storesDrawMs = (end - t0).toFixed(1);
      this.svg.dataset.storesBuildMs = (built - t0).toFixed(1);
      this.onDraw();
    }, 0));
  }

  // showFocus draws the hovered (else the selected) store's circle strongly
  // and its card.
  showFocus() {
    const id = this.hovered || this.selected;
    const st = id && this.stores.get(id);
    for (const el of this.markers.querySelectorAll('.focused')) el.classList.remove('focused');
    this.svg.classList.toggle('focusing', !!st);
    if (!st) {
      replace(this.focus);
      this.tip.hidden = true;
      return;
    }
    const kind = st.suspended ? 'suspended' : sectionClass(st.section);
    const o = this.outlines.get(id);
    replace(this.focus, o ? s('path', { class: 'circle-focus ' + kind, d: o.d, 'data-store': id }) : null);
    const marker = this.markers.querySelector(`rect[data-store="${CSS.escape(id)}"]`);
    if (marker) marker.classList.add('focused');
    const [szh, sen] = sectionLabel(st.section);
    replace(this.tip,
      h('div', { class: 'store-tip-name' }, st.name || st.store_id),
      h('div', { class: 'store-tip-row' }, h('span', { class: 'swatch-sq ' + sectionClass(st.section) }), szh, ' ',
        h('span', { class: 'en' }, sen), ' · ', st.district || '—'),
      h('div', { class: 'store-tip-row' }, bi(`备货 ${num(st.prep_minutes).toFixed(1)} 分钟`, `prep ${num(st.prep_minutes).toFixed(1)} min`)),
      h('div', { class: 'store-tip-row ' + (st.suspended ? 'bad' : 'good') },
        st.suspended ? bi('已暂停销售', 'Suspended') : bi('营业中', 'Open')),
      h('div', { class: 'store-tip-row muted' }, o
        ? bi(`1 小时服务圈 ${o.cells} 格 ≈ ${Math.round(o.cells * CELL_KM2)} km²`, `1-hour circle: ${o.cells} cells`)
        : this.queue.some((q) => q.id === id) ? bi('服务圈计算中…', 'drawing its circle…') : bi('无服务圈', 'no circle')),
      h('div', { class: 'store-tip-row muted small mono' }, st.store_id,
        this.selected === id ? h('span', { class: 'en' }, ' · Esc 关闭 close') : null));
    this.tip.dataset.store = id;
    this.tip.hidden = false;
  }

  // summary counts the stores: {total, suspended, bySection}.
  summary() {
    const bySection = {};
    let suspended = 0;
    for (const st of this.stores.values()) {
      bySection[sectionClass(st.section)] = (bySection[sectionClass(st.section)] || 0) + 1;
      if (st.suspended) suspended++;
    }
    return { total: this.stores.size, suspended, bySection };
  }
}
