package geo

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var erqiSquare = Point{Lat: 34.7566, Lng: 113.6683}

func TestCellOf(t *testing.T) {
	tests := []struct {
		name string
		p    Point
		res  int
		want string
	}{
		{name: "Erqi Square at position resolution", p: erqiSquare, res: PositionRes, want: "8940954924fffff"},
		{name: "Erqi Square at coverage resolution", p: erqiSquare, res: CoverageRes, want: "8840954925fffff"},
		{name: "Beijing", p: Point{Lat: 39.9042, Lng: 116.4074}, res: 9, want: "8931aa4282fffff"},
		{name: "NaN", p: Point{Lat: math.NaN(), Lng: 113}, res: 9, want: "0"},
		{name: "out of range", p: Point{Lat: 95, Lng: 113}, res: 9, want: "0"},
		{name: "resolution too fine", p: erqiSquare, res: 16, want: "0"},
		{name: "negative resolution", p: erqiSquare, res: -1, want: "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := CellOf(tc.p, tc.res)
			if c.String() != tc.want {
				t.Fatalf("CellOf = %s, want %s", c, tc.want)
			}
			if c == 0 {
				return
			}
			if c.Resolution() != tc.res {
				t.Errorf("Resolution = %d, want %d", c.Resolution(), tc.res)
			}
			if back := CellOf(c.Center(), tc.res); back != c {
				t.Errorf("CellOf(Center) = %s, want %s", back, c)
			}
		})
	}
}

func TestParseCell(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Cell
		wantErr bool
	}{
		{name: "plain", in: "8940954924fffff", want: CellOf(erqiSquare, 9)},
		{name: "0x prefix", in: "0x8940954924fffff", want: CellOf(erqiSquare, 9)},
		{name: "upper case", in: "8940954924FFFFF", want: CellOf(erqiSquare, 9)},
		{name: "empty", in: "", wantErr: true},
		{name: "not hex", in: "zhengzhou", wantErr: true},
		{name: "zero", in: "0", wantErr: true},
		{name: "not a cell", in: "ffffffffffffffff", wantErr: true},
		{name: "too long", in: "18940954924fffff00", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCell(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidCell) {
					t.Fatalf("ParseCell(%q) = %v, %v; want ErrInvalidCell", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseCell(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestCellJSON(t *testing.T) {
	in := map[string]Cell{"erqi": CellOf(erqiSquare, 9)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"erqi":"8940954924fffff"}` {
		t.Errorf("Marshal = %s", b)
	}
	var out map[string]Cell
	if err := json.Unmarshal(b, &out); err != nil || out["erqi"] != in["erqi"] {
		t.Errorf("Unmarshal = %v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"x":"nope"}`), &out); !errors.Is(err, ErrInvalidCell) {
		t.Errorf("Unmarshal of a bad cell = %v, want ErrInvalidCell", err)
	}
}

func TestCellParent(t *testing.T) {
	c := CellOf(erqiSquare, 9)
	tests := []struct {
		name string
		c    Cell
		res  int
		want string
	}{
		{name: "itself", c: c, res: 9, want: c.String()},
		{name: "coverage", c: c, res: 8, want: "8840954925fffff"},
		{name: "res 7", c: c, res: 7, want: "874095492ffffff"},
		{name: "finer than the cell", c: c, res: 10, want: "0"},
		{name: "negative", c: c, res: -1, want: "0"},
		{name: "invalid cell", c: 12345, res: 5, want: "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Parent(tc.res); got.String() != tc.want {
				t.Errorf("Parent(%d) = %s, want %s", tc.res, got, tc.want)
			}
		})
	}
}

func TestCellDisk(t *testing.T) {
	c := CellOf(erqiSquare, 9)
	tests := []struct {
		name string
		c    Cell
		k    int
		want int
	}{
		{name: "k=0", c: c, k: 0, want: 1},
		{name: "k=1", c: c, k: 1, want: 7},
		{name: "k=2", c: c, k: 2, want: 19},
		{name: "negative k", c: c, k: -1, want: 0},
		{name: "k too large", c: c, k: MaxDiskK + 1, want: 0},
		{name: "invalid cell", c: 0, k: 1, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.c.Disk(tc.k)
			if len(d) != tc.want {
				t.Fatalf("len(Disk(%d)) = %d, want %d", tc.k, len(d), tc.want)
			}
			if tc.want > 0 && !slices.Contains(d, tc.c) {
				t.Errorf("Disk(%d) misses the cell itself", tc.k)
			}
		})
	}
}

func TestCellCenterInvalid(t *testing.T) {
	if p := Cell(0).Center(); p != (Point{}) {
		t.Errorf("Cell(0).Center() = %v, want the zero Point", p)
	}
	if r := Cell(7).Resolution(); r != -1 {
		t.Errorf("Cell(7).Resolution() = %d, want -1", r)
	}
}

// TestCellGeoAgreesWithH3 checks the premise of the rider index: a point
// that a cell outline says is inside is in that cell for H3, and walking
// the atlas finds H3's cell.
func TestCellGeoAgreesWithH3(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	area := Zhengzhou()
	for _, res := range []int{7, 9, 12} {
		at := newAtlas(res)
		for i := range 8000 {
			var p Point
			switch i % 8 {
			case 0: // anywhere on Earth
				p = Point{Lat: math.Asin(2*r.Float64()-1) / degToRad, Lng: 360*r.Float64() - 180}
			default:
				p = area.RandomPoint(r)
			}
			u := unitOfPoint(p)
			want := CellOf(p, res)
			if got := at.locate(p, u); got != want {
				t.Fatalf("res %d: locate(%v) = %s, H3 says %s", res, p, got, want)
			}
			// Test a neighbour's outline too: it must not claim the point.
			g := at.geo(want)
			for _, e := range g.edges {
				if nb := e.across; nb != 0 && at.geo(nb).contains(u) {
					t.Fatalf("res %d: neighbour %s claims %v, which is in %s", res, nb, p, want)
				}
			}
		}
	}
}

// TestEdgeWithin checks the point-to-edge distance used for the search's
// stopping rule against a dense walk along the edge.
func TestEdgeWithin(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	area := Zhengzhou()
	for range 300 {
		p := area.RandomPoint(r)
		c := CellOf(p, PositionRes)
		g := newCellGeo(c)
		q := Plane{Origin: p}.ToPoint(r.NormFloat64()*400, r.NormFloat64()*400)
		u := unitOfPoint(q)
		for i := range g.edges {
			e := &g.edges[i]
			a, b := e.a, e.b
			best := math.Inf(1)
			for s := 0; s <= 2000; s++ {
				f := float64(s) / 2000
				best = math.Min(best, angle(u, a.scale(1-f).add(b.scale(f)).unit()))
			}
			for _, scale := range []float64{0.999, 1.001} {
				th := best * scale
				h := math.Sin(th / 2)
				tt := h * h
				want := scale > 1
				if best == 0 {
					continue
				}
				if got := e.within(u, tt, 4*tt*(1-tt)); got != want {
					t.Fatalf("cell %s edge %d, point %v: within %.3f × %.3f m = %v", c, i, q, scale, best*EarthRadiusM, got)
				}
			}
		}
	}
}

func FuzzParseCell(f *testing.F) {
	for _, s := range []string{"8940954924fffff", "0x8840954925fffff", "0", "", "zz", "ffffffffffffffff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCell(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidCell) {
				t.Fatalf("ParseCell(%q) error %v does not wrap ErrInvalidCell", s, err)
			}
			return
		}
		back, err := ParseCell(c.String())
		if err != nil || back != c {
			t.Fatalf("ParseCell(%q) = %s, which parses back as %s, %v", s, c, back, err)
		}
		if c.Resolution() < 0 || c.Center().Validate() != nil {
			t.Fatalf("ParseCell(%q) = %s, which has no centre", s, c)
		}
	})
}
