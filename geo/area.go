package geo

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/uber/h3-go/v4"
)

// District is an administrative district of the city.
type District struct {
	// Code is the district's administrative code (adcode), such as "410103".
	Code string
	// Name is the district's English name, such as "Erqi".
	Name string
	// NameZH is the district's Chinese name, such as "二七区".
	NameZH string
	// Center is the district's reference point (its government seat).
	Center Point
}

// Area is a service area: the cells at CoverageRes whose centres lie inside
// the polygons of a set of districts, each cell mapped to its district. A
// point belongs to the area when its coverage cell does. An Area is immutable
// once loaded and safe for concurrent use.
type Area struct {
	districts []District     // sorted by code
	byCell    map[Cell]int32 // coverage cell -> index in districts
	cells     []Cell         // sorted
	cumArea   []float64      // cumulative cell areas, for RandomPoint
	boxes     []box          // bounding box of each cell in cells
	min, max  Point
}

// box is a latitude/longitude bounding box in degrees.
type box struct{ minLat, minLng, maxLat, maxLng float64 }

//go:embed data/zhengzhou-districts.geojson
var zhengzhouGeoJSON []byte

// zhengzhouCodes are the adcodes of the five contiguous urban districts
// that make up the Zhengzhou service area.
var zhengzhouCodes = []string{"410102", "410103", "410104", "410105", "410108"}

// englishNames are the English names of Zhengzhou's county-level divisions.
var englishNames = map[string]string{
	"410102": "Zhongyuan",
	"410103": "Erqi",
	"410104": "Guancheng",
	"410105": "Jinshui",
	"410106": "Shangjie",
	"410108": "Huiji",
	"410122": "Zhongmou",
	"410181": "Gongyi",
	"410182": "Xingyang",
	"410183": "Xinmi",
	"410184": "Xinzheng",
	"410185": "Dengfeng",
}

var zhengzhou = sync.OnceValue(func() *Area {
	a, err := LoadArea(zhengzhouGeoJSON, zhengzhouCodes)
	if err != nil {
		panic("geo: embedded Zhengzhou districts: " + err.Error())
	}
	return a
})

// Zhengzhou returns the Zhengzhou service area: the five contiguous urban
// districts 410102 Zhongyuan, 410103 Erqi, 410104 Guancheng, 410105 Jinshui
// and 410108 Huiji, loaded once from the embedded district boundaries
// (GCJ-02). District names are English, with the Chinese names
// from the boundary file in NameZH.
func Zhengzhou() *Area {
	return zhengzhou()
}

type featureCollection struct {
	Type     string    `json:"type"`
	Features []feature `json:"features"`
}

type feature struct {
	Properties struct {
		Adcode json.RawMessage `json:"adcode"`
		Name   string          `json:"name"`
		NameEN string          `json:"name_en"`
		Center []float64       `json:"center"`
	} `json:"properties"`
	Geometry struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

// LoadArea builds an Area from a GeoJSON FeatureCollection of Polygon or
// MultiPolygon features with the properties adcode, name and center
// ([lng, lat]). Coordinates are [lng, lat] in degrees. codes selects the
// districts by adcode; nil selects every feature. A district's Name is its
// English name when known (or the name_en property), otherwise the file's
// name; NameZH is the file's name.
func LoadArea(geojson []byte, codes []string) (*Area, error) {
	var fc featureCollection
	if err := json.Unmarshal(geojson, &fc); err != nil {
		return nil, fmt.Errorf("load area: geojson: %w", err)
	}
	if fc.Type != "FeatureCollection" {
		return nil, fmt.Errorf("load area: type: want FeatureCollection, got %q", fc.Type)
	}
	want := map[string]bool{}
	for _, c := range codes {
		want[c] = false
	}

	type loaded struct {
		d     District
		polys []h3.GeoPolygon
	}
	var found []loaded
	seen := map[string]bool{}
	for i, f := range fc.Features {
		code, err := adcode(f.Properties.Adcode)
		if err != nil {
			return nil, fmt.Errorf("load area: feature %d: adcode: %w", i, err)
		}
		if _, ok := want[code]; codes != nil && !ok {
			continue
		}
		if seen[code] {
			return nil, fmt.Errorf("load area: feature %d: adcode: %s appears twice", i, code)
		}
		seen[code] = true
		want[code] = true
		polys, err := polygons(f.Geometry.Type, f.Geometry.Coordinates)
		if err != nil {
			return nil, fmt.Errorf("load area: feature %d (%s): geometry: %w", i, code, err)
		}
		d := District{Code: code, Name: f.Properties.NameEN, NameZH: f.Properties.Name}
		if d.Name == "" {
			d.Name = englishNames[code]
		}
		if d.Name == "" {
			d.Name = d.NameZH
		}
		if d.Name == "" {
			d.Name = code
		}
		if c := f.Properties.Center; c != nil {
			if len(c) != 2 {
				return nil, fmt.Errorf("load area: feature %d (%s): center: want [lng, lat], got %d numbers", i, code, len(c))
			}
			d.Center = Point{Lat: c[1], Lng: c[0]}
			if err := d.Center.Validate(); err != nil {
				return nil, fmt.Errorf("load area: feature %d (%s): center: %w", i, code, err)
			}
		}
		found = append(found, loaded{d: d, polys: polys})
	}
	for _, c := range codes {
		if !want[c] {
			return nil, fmt.Errorf("load area: codes: district %q is not in the file", c)
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("load area: features: no districts")
	}
	slices.SortFunc(found, func(a, b loaded) int { return compareCodes(a.d.Code, b.d.Code) })

	a := &Area{byCell: map[Cell]int32{}}
	for i, l := range found {
		var cells []Cell
		for _, p := range l.polys {
			for _, h := range h3.PolygonToCells(p, CoverageRes) {
				if h == 0 {
					continue
				}
				c := Cell(h)
				if _, dup := a.byCell[c]; !dup {
					a.byCell[c] = int32(i)
					cells = append(cells, c)
				}
			}
		}
		if len(cells) == 0 {
			return nil, fmt.Errorf("load area: district %s: polygon covers no cell at resolution %d", l.d.Code, CoverageRes)
		}
		if l.d.Center == (Point{}) {
			l.d.Center = meanCenter(cells)
		}
		a.districts = append(a.districts, l.d)
	}
	a.cells = make([]Cell, 0, len(a.byCell))
	for c := range a.byCell {
		a.cells = append(a.cells, c)
	}
	slices.Sort(a.cells)
	a.cumArea = make([]float64, len(a.cells))
	a.boxes = make([]box, len(a.cells))
	a.min = Point{Lat: math.Inf(1), Lng: math.Inf(1)}
	a.max = Point{Lat: math.Inf(-1), Lng: math.Inf(-1)}
	total := 0.0
	for i, c := range a.cells {
		total += h3AreaM2(c)
		a.cumArea[i] = total
		b := box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
		for _, v := range h3Boundary(c) {
			b.minLat, b.maxLat = math.Min(b.minLat, v.Lat), math.Max(b.maxLat, v.Lat)
			b.minLng, b.maxLng = math.Min(b.minLng, v.Lng), math.Max(b.maxLng, v.Lng)
		}
		a.boxes[i] = b
		a.min.Lat, a.min.Lng = math.Min(a.min.Lat, b.minLat), math.Min(a.min.Lng, b.minLng)
		a.max.Lat, a.max.Lng = math.Max(a.max.Lat, b.maxLat), math.Max(a.max.Lng, b.maxLng)
	}
	return a, nil
}

// adcode reads an adcode property written as a number or a string.
func adcode(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", fmt.Errorf("missing")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" {
			return "", fmt.Errorf("empty")
		}
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("%s is neither a number nor a string", raw)
	}
	if _, err := strconv.ParseUint(n.String(), 10, 64); err != nil {
		return "", fmt.Errorf("%s is not a whole number", n)
	}
	return n.String(), nil
}

// compareCodes orders adcodes numerically when both are numbers, and as
// text otherwise.
func compareCodes(a, b string) int {
	x, errX := strconv.ParseUint(a, 10, 64)
	y, errY := strconv.ParseUint(b, 10, 64)
	if errX == nil && errY == nil {
		return cmp.Compare(x, y)
	}
	return strings.Compare(a, b)
}

// polygons decodes GeoJSON Polygon or MultiPolygon coordinates.
func polygons(typ string, raw json.RawMessage) ([]h3.GeoPolygon, error) {
	var rings [][][][]float64
	switch typ {
	case "Polygon":
		var p [][][]float64
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("coordinates: %w", err)
		}
		rings = [][][][]float64{p}
	case "MultiPolygon":
		if err := json.Unmarshal(raw, &rings); err != nil {
			return nil, fmt.Errorf("coordinates: %w", err)
		}
	default:
		return nil, fmt.Errorf("type: want Polygon or MultiPolygon, got %q", typ)
	}
	if len(rings) == 0 {
		return nil, fmt.Errorf("coordinates: empty")
	}
	out := make([]h3.GeoPolygon, 0, len(rings))
	spanKm2 := 0.0
	for pi, p := range rings {
		if len(p) == 0 {
			return nil, fmt.Errorf("coordinates: polygon %d: no rings", pi)
		}
		var gp h3.GeoPolygon
		for ri, r := range p {
			loop, err := geoLoop(r)
			if err != nil {
				return nil, fmt.Errorf("coordinates: polygon %d ring %d: %w", pi, ri, err)
			}
			if ri == 0 {
				gp.GeoLoop = loop
			} else {
				gp.Holes = append(gp.Holes, loop)
			}
		}
		spanKm2 += boxKm2(gp.GeoLoop)
		out = append(out, gp)
	}
	if spanKm2 > maxAreaKm2 {
		return nil, fmt.Errorf("coordinates: the polygons span about %.0f km², more than the %d km² an area may cover", spanKm2, maxAreaKm2)
	}
	return out, nil
}

// maxAreaKm2 bounds the bounding boxes of an area's polygons, which keeps
// the number of cells at CoverageRes in the hundreds of thousands.
const maxAreaKm2 = 200_000

// boxKm2 returns the area of a loop's latitude/longitude bounding box.
func boxKm2(loop h3.GeoLoop) float64 {
	b := box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, v := range loop {
		b.minLat, b.maxLat = math.Min(b.minLat, v.Lat), math.Max(b.maxLat, v.Lat)
		b.minLng, b.maxLng = math.Min(b.minLng, v.Lng), math.Max(b.maxLng, v.Lng)
	}
	kmPerDeg := EarthRadiusM * degToRad / 1000
	cos := math.Cos((b.minLat + b.maxLat) / 2 * degToRad)
	return (b.maxLat - b.minLat) * kmPerDeg * (b.maxLng - b.minLng) * kmPerDeg * math.Max(cos, 0.01)
}

func geoLoop(r [][]float64) (h3.GeoLoop, error) {
	if len(r) > 1 && slices.Equal(r[0], r[len(r)-1]) {
		r = r[:len(r)-1]
	}
	if len(r) < 3 {
		return nil, fmt.Errorf("want at least 3 positions, got %d", len(r))
	}
	loop := make(h3.GeoLoop, len(r))
	for i, pos := range r {
		if len(pos) < 2 {
			return nil, fmt.Errorf("position %d: want [lng, lat]", i)
		}
		p := Point{Lat: pos[1], Lng: pos[0]}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("position %d: %w", i, err)
		}
		loop[i] = h3.NewLatLng(p.Lat, p.Lng)
	}
	return loop, nil
}

func meanCenter(cells []Cell) Point {
	var s Point
	for _, c := range cells {
		p := c.center()
		s.Lat += p.Lat
		s.Lng += p.Lng
	}
	n := float64(len(cells))
	return Point{Lat: s.Lat / n, Lng: s.Lng / n}
}

// Validate checks p with Point.Validate and then reports an error wrapping
// ErrOutsideArea, naming p, when p is not in the area.
func (a *Area) Validate(p Point) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if !a.Contains(p) {
		return fmt.Errorf("%w: %v", ErrOutsideArea, p)
	}
	return nil
}

// Contains reports whether p lies in the area, that is whether p's cell at
// CoverageRes is one of the area's cells.
func (a *Area) Contains(p Point) bool {
	_, ok := a.district(CellOf(p, CoverageRes))
	return ok
}

// ContainsCell reports whether the cell at CoverageRes containing c (c
// itself, or its ancestor when c is finer) belongs to the area.
func (a *Area) ContainsCell(c Cell) bool {
	_, ok := a.district(c.Parent(CoverageRes))
	return ok
}

func (a *Area) district(c Cell) (int32, bool) {
	if a == nil || c == 0 {
		return 0, false
	}
	i, ok := a.byCell[c]
	return i, ok
}

// District returns the district containing p, and false when p is not in
// the area.
func (a *Area) District(p Point) (District, bool) {
	i, ok := a.district(CellOf(p, CoverageRes))
	if !ok {
		return District{}, false
	}
	return a.districts[i], true
}

// Districts returns the area's districts ordered by code.
func (a *Area) Districts() []District {
	if a == nil {
		return nil
	}
	return slices.Clone(a.districts)
}

// Cells returns the area's cells at CoverageRes in ascending order.
func (a *Area) Cells() []Cell {
	if a == nil {
		return nil
	}
	return slices.Clone(a.cells)
}

// Bounds returns the south-west and north-east corners of the area's
// bounding box (over the outlines of its cells). Both are the zero Point for
// an empty area.
func (a *Area) Bounds() (min, max Point) {
	if a == nil || len(a.cells) == 0 {
		return Point{}, Point{}
	}
	return a.min, a.max
}

// RandomPoint returns a point drawn uniformly over the area: a cell drawn
// with probability proportional to its area, then a uniform point inside
// it. The result always satisfies Contains. It returns the zero Point for an
// empty area.
func (a *Area) RandomPoint(r *rand.Rand) Point {
	if a == nil || len(a.cells) == 0 || r == nil {
		return Point{}
	}
	total := a.cumArea[len(a.cumArea)-1]
	i := sort.SearchFloat64s(a.cumArea, r.Float64()*total)
	if i >= len(a.cells) {
		i = len(a.cells) - 1
	}
	c, b := a.cells[i], a.boxes[i]
	for range 64 {
		p := Point{
			Lat: b.minLat + r.Float64()*(b.maxLat-b.minLat),
			Lng: b.minLng + r.Float64()*(b.maxLng-b.minLng),
		}
		if CellOf(p, CoverageRes) == c {
			return p
		}
	}
	return c.center()
}

// RandomPointNear returns a point drawn from a circular normal distribution
// around c with standard deviation sigmaM metres along each axis, drawn
// again until it falls inside the area; after a few misses it returns
// RandomPoint. With sigmaM zero (or not a positive finite number) it returns
// c when c is in the area and RandomPoint otherwise.
func (a *Area) RandomPointNear(r *rand.Rand, c Point, sigmaM float64) Point {
	if a == nil || len(a.cells) == 0 || r == nil {
		return Point{}
	}
	if !c.valid() {
		return a.RandomPoint(r)
	}
	if !(sigmaM > 0) || math.IsInf(sigmaM, 0) {
		if a.Contains(c) {
			return c
		}
		return a.RandomPoint(r)
	}
	pl := Plane{Origin: c}
	for range 32 {
		p := pl.ToPoint(r.NormFloat64()*sigmaM, r.NormFloat64()*sigmaM)
		if a.Contains(p) {
			return p
		}
	}
	return a.RandomPoint(r)
}
