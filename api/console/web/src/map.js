// The city drawn in SVG: Zhengzhou's district boundaries (the file the geo
// package embeds, bundled at build time), H3 cells from h3-js, and a plain
// planar projection fitted to the urban districts. No map tiles: the console
// works offline.

import { geoPath, geoTransform } from 'd3-geo';
import { cellToBoundary, cellToLatLng, gridDisk, latLngToCell, polygonToCells } from 'h3-js';
import districts from '../../../../geo/data/zhengzhou-districts.geojson';
import { s } from './common.js';

// URBAN are the adcodes of the five urban districts that make up the
// service area (geo.Zhengzhou).
export const URBAN = ['410102', '410103', '410104', '410105', '410108'];

const english = {
  410102: 'Zhongyuan', 410103: 'Erqi', 410104: 'Guancheng', 410105: 'Jinshui', 410108: 'Huiji',
};

const features = districts.features.map((f) => ({
  ...f,
  code: String(f.properties.adcode),
  urban: URBAN.includes(String(f.properties.adcode)),
}));

export const urbanFeatures = features.filter((f) => f.urban);

// Projection maps [lng, lat] onto an SVG of width × height, fitted to the
// bounds (lng/lat boxes [[w, s], [e, n]]) with a margin: an equirectangular
// projection whose x is shrunk by cos(latitude), true enough across a city.
export class Projection {
  constructor(bounds, width, height, margin = 12) {
    const [[w, so], [e, n]] = bounds;
    const lat0 = ((so + n) / 2) * (Math.PI / 180);
    this.kx = Math.cos(lat0);
    const k = Math.min((width - 2 * margin) / ((e - w) * this.kx), (height - 2 * margin) / (n - so));
    this.k = k;
    this.x0 = w - ((width - 2 * margin) / k / this.kx - (e - w)) / 2 - margin / k / this.kx;
    this.y0 = n + ((height - 2 * margin) / k - (n - so)) / 2 + margin / k;
    const self = this;
    this.path = geoPath(geoTransform({
      point(lng, lat) {
        const [x, y] = self.point(lng, lat);
        this.stream.point(x, y);
      },
    }));
  }

  point(lng, lat) {
    return [(lng - this.x0) * this.kx * this.k, (this.y0 - lat) * this.k];
  }

  // metres gives the length in pixels of m metres.
  metres(m) {
    return (m / 111320) * this.k;
  }
}

// boundsOf returns the lng/lat box of GeoJSON features.
export function boundsOf(fs) {
  const planar = geoPath();
  let w = Infinity, so = Infinity, e = -Infinity, n = -Infinity;
  for (const f of fs) {
    const [[x0, y0], [x1, y1]] = planar.bounds(f);
    w = Math.min(w, x0); so = Math.min(so, y0); e = Math.max(e, x1); n = Math.max(n, y1);
  }
  return [[w, so], [e, n]];
}

// boxAround returns the lng/lat box of radius metres around a point.
export function boxAround(lat, lng, metres) {
  const dLat = metres / 111320;
  const dLng = dLat / Math.cos((lat * Math.PI) / 180);
  return [[lng - dLng, lat - dLat], [lng + dLng, lat + dLat]];
}

// hexPath is the SVG path of an H3 cell.
export function hexPath(proj, cell) {
  return proj.path({ type: 'Polygon', coordinates: [cellToBoundary(cell, true)] });
}

export { cellToLatLng, gridDisk, latLngToCell };

// districtCells fills each urban district with H3 cells of resolution res:
// [{code, cell}].
export function districtCells(res) {
  const out = [];
  for (const f of urbanFeatures) {
    const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
    const seen = new Set();
    for (const p of polys) {
      for (const c of polygonToCells(p, res, true)) {
        if (!seen.has(c)) {
          seen.add(c);
          out.push({ code: f.code, cell: c });
        }
      }
    }
  }
  return out;
}

// districtLayer draws the district outlines (urban ones stronger) and,
// when labels is set, their names.
export function districtLayer(proj, { labels = true } = {}) {
  const g = s('g', { class: 'layer-districts' });
  for (const f of features) {
    g.append(s('path', { class: 'district' + (f.urban ? ' urban' : ''), d: proj.path(f), 'data-adcode': f.code }));
  }
  if (labels) {
    for (const f of urbanFeatures) {
      const c = f.properties.centroid || f.properties.center;
      const [x, y] = proj.point(c[0], c[1]);
      g.append(s('text', { class: 'district-label', x, y, 'text-anchor': 'middle' },
        s('tspan', { x, dy: 0 }, f.properties.name),
        s('tspan', { class: 'en', x, dy: '1.2em' }, english[f.code] || '')));
    }
  }
  return g;
}
