package geo

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestZhengzhouDistricts(t *testing.T) {
	a := Zhengzhou()
	if a != Zhengzhou() {
		t.Error("Zhengzhou() loads the area more than once")
	}
	want := []struct{ code, name, zh string }{
		{"410102", "Zhongyuan", "中原区"},
		{"410103", "Erqi", "二七区"},
		{"410104", "Guancheng", "管城回族区"},
		{"410105", "Jinshui", "金水区"},
		{"410108", "Huiji", "惠济区"},
	}
	ds := a.Districts()
	if len(ds) != len(want) {
		t.Fatalf("Districts() has %d districts, want %d", len(ds), len(want))
	}
	for i, w := range want {
		d := ds[i]
		if d.Code != w.code || d.Name != w.name || d.NameZH != w.zh {
			t.Errorf("district %d = %+v, want %s %s %s", i, d, w.code, w.name, w.zh)
		}
		if got, ok := a.District(d.Center); !ok {
			t.Errorf("%s: its centre %v is outside the area", d.Name, d.Center)
		} else if got.Code != d.Code {
			// Government seats may sit near a border; they must at least
			// be in the area.
			t.Logf("%s: centre %v falls in %s", d.Name, d.Center, got.Name)
		}
	}
	ds[0].Name = "changed"
	if a.Districts()[0].Name != "Zhongyuan" {
		t.Error("Districts() exposes the area's own slice")
	}
}

func TestAreaValidate(t *testing.T) {
	a := Zhengzhou()
	tests := []struct {
		name    string
		p       Point
		wantErr error
		field   string
	}{
		{name: "Erqi Square", p: erqiSquare},
		{name: "Zhengdong CBD", p: Point{Lat: 34.7685, Lng: 113.7270}},
		{name: "railway station", p: Point{Lat: 34.7459, Lng: 113.6580}},
		{name: "NaN", p: Point{Lat: math.NaN(), Lng: 113.6}, wantErr: ErrInvalidPoint, field: "lat"},
		{name: "lat out of range", p: Point{Lat: -91, Lng: 113.6}, wantErr: ErrInvalidPoint, field: "lat"},
		{name: "lng out of range", p: Point{Lat: 34.7, Lng: 213.6}, wantErr: ErrInvalidPoint, field: "lng"},
		{name: "Beijing", p: Point{Lat: 39.9042, Lng: 116.4074}, wantErr: ErrOutsideArea},
		{name: "Shangjie exclave", p: Point{Lat: 34.8087, Lng: 113.2983}, wantErr: ErrOutsideArea},
		{name: "Xinzheng airport", p: Point{Lat: 34.5197, Lng: 113.8408}, wantErr: ErrOutsideArea},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := a.Validate(tc.p)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				if !a.Contains(tc.p) {
					t.Error("Contains = false for a valid point")
				}
				if _, ok := a.District(tc.p); !ok {
					t.Error("District found nothing for a valid point")
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate = %v, want %v", err, tc.wantErr)
			}
			if tc.field != "" && !strings.Contains(err.Error(), tc.field+": ") {
				t.Errorf("Validate = %q, want it to name %q", err, tc.field)
			}
			if tc.wantErr == ErrOutsideArea && !strings.Contains(err.Error(), tc.p.String()) {
				t.Errorf("Validate = %q, want it to name the point", err)
			}
			if a.Contains(tc.p) {
				t.Error("Contains = true")
			}
		})
	}
}

func TestAreaCellsAndBounds(t *testing.T) {
	a := Zhengzhou()
	cells := a.Cells()
	if len(cells) < 1000 {
		t.Fatalf("only %d cells", len(cells))
	}
	if !slices.IsSorted(cells) {
		t.Error("Cells() is not sorted")
	}
	lo, hi := a.Bounds()
	for _, c := range cells {
		if c.Resolution() != CoverageRes {
			t.Fatalf("cell %s has resolution %d", c, c.Resolution())
		}
		p := c.Center()
		if p.Lat < lo.Lat || p.Lat > hi.Lat || p.Lng < lo.Lng || p.Lng > hi.Lng {
			t.Fatalf("cell %s centre %v outside Bounds %v %v", c, p, lo, hi)
		}
		if !a.ContainsCell(c) {
			t.Fatalf("ContainsCell(%s) = false", c)
		}
	}
	if !a.ContainsCell(CellOf(erqiSquare, PositionRes)) {
		t.Error("ContainsCell of a finer cell inside the area = false")
	}
	var nilArea *Area
	if nilArea.Contains(erqiSquare) || nilArea.Cells() != nil {
		t.Error("a nil Area is not empty")
	}
}

func TestAreaRandomPoint(t *testing.T) {
	a := Zhengzhou()
	r := rand.New(rand.NewPCG(3, 4))
	perDistrict := map[string]int{}
	const n = 4000
	for range n {
		p := a.RandomPoint(r)
		d, ok := a.District(p)
		if !ok {
			t.Fatalf("RandomPoint %v is outside the area", p)
		}
		perDistrict[d.Code]++
	}
	// Each district gets a share close to its share of the area.
	cellsPer := map[string]int{}
	for _, c := range a.Cells() {
		d, _ := a.District(c.Center())
		cellsPer[d.Code]++
	}
	for code, cnt := range cellsPer {
		want := float64(cnt) / float64(len(a.Cells()))
		got := float64(perDistrict[code]) / n
		if math.Abs(got-want) > 0.03 {
			t.Errorf("district %s: %.3f of the points, %.3f of the area", code, got, want)
		}
	}
}

func TestAreaRandomPointNear(t *testing.T) {
	a := Zhengzhou()
	r := rand.New(rand.NewPCG(5, 6))
	tests := []struct {
		name   string
		c      Point
		sigmaM float64
		maxAvg float64 // mean distance from c must stay below this
	}{
		{name: "tight around Erqi Square", c: erqiSquare, sigmaM: 200, maxAvg: 400},
		{name: "wide around Zhengdong CBD", c: Point{Lat: 34.7685, Lng: 113.7270}, sigmaM: 2000, maxAvg: 4000},
		{name: "zero sigma", c: erqiSquare, sigmaM: 0, maxAvg: 1e-9},
		{name: "centre in Beijing", c: Point{Lat: 39.9, Lng: 116.4}, sigmaM: 500, maxAvg: math.Inf(1)},
		{name: "NaN sigma", c: erqiSquare, sigmaM: math.NaN(), maxAvg: 1e-9},
		{name: "NaN centre", c: Point{Lat: math.NaN()}, sigmaM: 100, maxAvg: math.Inf(1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sum := 0.0
			for range 500 {
				p := a.RandomPointNear(r, tc.c, tc.sigmaM)
				if !a.Contains(p) {
					t.Fatalf("RandomPointNear = %v, outside the area", p)
				}
				sum += DistanceM(p, tc.c)
			}
			if avg := sum / 500; !(avg <= tc.maxAvg) && !math.IsInf(tc.maxAvg, 1) {
				t.Errorf("mean distance %.0f m, want at most %.0f", avg, tc.maxAvg)
			}
		})
	}
}

const squareGeoJSON = `{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"adcode":"1","name":"西","center":[113.60,34.75]},
  "geometry":{"type":"Polygon","coordinates":[[[113.58,34.73],[113.62,34.73],[113.62,34.77],[113.58,34.77],[113.58,34.73]]]}},
 {"type":"Feature","properties":{"adcode":2,"name":"东","name_en":"East"},
  "geometry":{"type":"MultiPolygon","coordinates":[[[[113.62,34.73],[113.66,34.73],[113.66,34.77],[113.62,34.77]]]]}}]}`

func TestLoadArea(t *testing.T) {
	tests := []struct {
		name      string
		geojson   string
		codes     []string
		wantCodes []string
		wantErr   string
	}{
		{name: "all", geojson: squareGeoJSON, wantCodes: []string{"1", "2"}},
		{name: "one", geojson: squareGeoJSON, codes: []string{"2"}, wantCodes: []string{"2"}},
		{name: "unknown code", geojson: squareGeoJSON, codes: []string{"3"}, wantErr: `codes: district "3"`},
		{name: "not JSON", geojson: `{`, wantErr: "geojson"},
		{name: "not a collection", geojson: `{"type":"Feature"}`, wantErr: "type: want FeatureCollection"},
		{name: "no features", geojson: `{"type":"FeatureCollection","features":[]}`, wantErr: "no districts"},
		{name: "missing adcode", geojson: `{"type":"FeatureCollection","features":[{"properties":{},"geometry":{"type":"Polygon","coordinates":[]}}]}`, wantErr: "adcode: missing"},
		{name: "point geometry", geojson: `{"type":"FeatureCollection","features":[{"properties":{"adcode":1},"geometry":{"type":"Point","coordinates":[113,34]}}]}`, wantErr: "want Polygon or MultiPolygon"},
		{name: "short ring", geojson: `{"type":"FeatureCollection","features":[{"properties":{"adcode":1},"geometry":{"type":"Polygon","coordinates":[[[113,34],[113.1,34]]]}}]}`, wantErr: "at least 3 positions"},
		{name: "latitude out of range", geojson: `{"type":"FeatureCollection","features":[{"properties":{"adcode":1},"geometry":{"type":"Polygon","coordinates":[[[113,34],[113.1,94],[113.1,34.1]]]}}]}`, wantErr: "lat: 94 is outside"},
		{name: "bad center", geojson: `{"type":"FeatureCollection","features":[{"properties":{"adcode":1,"center":[1]},"geometry":{"type":"Polygon","coordinates":[[[113,34],[113.1,34],[113.1,34.1]]]}}]}`, wantErr: "center"},
		{name: "too large", geojson: `{"type":"FeatureCollection","features":[{"properties":{"adcode":1},"geometry":{"type":"Polygon","coordinates":[[[80,20],[120,20],[120,50],[80,50]]]}}]}`, wantErr: "more than the"},
		{name: "too small for a cell", geojson: `{"type":"FeatureCollection","features":[{"properties":{"adcode":1},"geometry":{"type":"Polygon","coordinates":[[[113,34],[113.0001,34],[113.0001,34.0001]]]}}]}`, wantErr: "covers no cell"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := LoadArea([]byte(tc.geojson), tc.codes)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadArea error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, d := range a.Districts() {
				codes = append(codes, d.Code)
			}
			if !slices.Equal(codes, tc.wantCodes) {
				t.Errorf("codes = %v, want %v", codes, tc.wantCodes)
			}
		})
	}

	a, err := LoadArea([]byte(squareGeoJSON), nil)
	if err != nil {
		t.Fatal(err)
	}
	west, _ := a.District(Point{Lat: 34.75, Lng: 113.60})
	east, _ := a.District(Point{Lat: 34.75, Lng: 113.64})
	if west.Name != "西" || west.NameZH != "西" || west.Center != (Point{Lat: 34.75, Lng: 113.60}) {
		t.Errorf("west = %+v", west)
	}
	if east.Name != "East" || east.NameZH != "东" || !a.Contains(east.Center) {
		t.Errorf("east = %+v (a missing center is the mean of the cells)", east)
	}
}

func TestLoadAreaAllZhengzhou(t *testing.T) {
	a, err := LoadArea(zhengzhouGeoJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(a.Districts()); n != 12 {
		t.Fatalf("%d districts, want 12", n)
	}
	d, ok := a.District(Point{Lat: 34.8087, Lng: 113.2983})
	if !ok || d.Name != "Shangjie" {
		t.Errorf("Shangjie exclave is in %+v, %v", d, ok)
	}
}

func FuzzLoadArea(f *testing.F) {
	f.Add([]byte(squareGeoJSON))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"properties":{"adcode":1},"geometry":{"type":"Polygon","coordinates":[[[113,34],[113.1,34],[113.1,34.1]]]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"properties":{"adcode":"x"},"geometry":{"type":"MultiPolygon","coordinates":[[[[179.9,-89],[-179.9,-89],[0,89]]]]}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := LoadArea(b, nil)
		if err != nil {
			return
		}
		for _, c := range a.Cells() {
			if !a.Contains(c.Center()) {
				t.Fatalf("area does not contain the centre of its cell %s", c)
			}
		}
	})
}
