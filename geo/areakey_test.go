package geo_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"zhengxiang/geo"
)

func ExampleAreaOf() {
	erqi := geo.Point{Lat: 34.7566, Lng: 113.6683}
	fmt.Println(geo.AreaOf(erqi))
	fmt.Println(geo.CellOf(erqi, geo.PositionRes).Parent(geo.AreaRes))
	// Output:
	// 864095497ffffff
	// 864095497ffffff
}

func TestAreaOf(t *testing.T) {
	erqi := geo.Point{Lat: 34.7566, Lng: 113.6683}
	for _, tc := range []struct {
		name string
		p    geo.Point
	}{
		{name: "Erqi Square", p: erqi},
		{name: "a few metres away stays in the area", p: geo.Point{Lat: 34.7567, Lng: 113.6684}},
		{name: "origin", p: geo.Point{}},
		{name: "NaN latitude", p: geo.Point{Lat: math.NaN(), Lng: 113.6}},
		{name: "latitude out of range", p: geo.Point{Lat: 91, Lng: 113.6}},
		{name: "infinite longitude", p: geo.Point{Lat: 34.7, Lng: math.Inf(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := geo.AreaOf(tc.p)
			if tc.p.Validate() != nil {
				if got != 0 {
					t.Fatalf("AreaOf(%v) = %v, want the zero Cell", tc.p, got)
				}
				return
			}
			if r := got.Resolution(); r != geo.AreaRes {
				t.Fatalf("AreaOf(%v) = %v at resolution %d, want %d", tc.p, got, r, geo.AreaRes)
			}
			if want := geo.CellOf(tc.p, geo.PositionRes).Parent(geo.AreaRes); got != want {
				t.Fatalf("AreaOf(%v) = %v, want %v, the ancestor of its position cell", tc.p, got, want)
			}
		})
	}
}

// TestAreaOfZhengzhou checks that the service area splits into a handful of dispatch areas, as a
// city should (DESIGN.md §5: one to a few dozen).
func TestAreaOfZhengzhou(t *testing.T) {
	areas := map[geo.Cell]bool{}
	for _, c := range geo.Zhengzhou().Cells() {
		areas[c.Parent(geo.AreaRes)] = true
	}
	if n := len(areas); n < 5 || n > 100 {
		t.Fatalf("Zhengzhou spans %d dispatch areas, want between 5 and 100", n)
	}
	t.Logf("Zhengzhou spans %d dispatch areas at resolution %d", len(areas), geo.AreaRes)
}

// TestAreaOfAgreesWithH3 checks AreaOf, which answers from the outlines of the areas it has met,
// against H3 itself over points all over Zhengzhou and beyond, and over points found by
// bisection to lie within a millimetre of an edge between two areas.
func TestAreaOfAgreesWithH3(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(p geo.Point) {
		t.Helper()
		if got, want := geo.AreaOf(p), geo.CellOf(p, geo.AreaRes); got != want {
			t.Fatalf("AreaOf(%v) = %v, H3 says %v", p, got, want)
		}
	}
	random := func() geo.Point { return geo.Point{Lat: 34.4 + 0.7*r.Float64(), Lng: 113.2 + 1.0*r.Float64()} }
	for range 100_000 {
		check(random())
	}
	edges := 0
	for range 2_000 {
		a, b := random(), random()
		ca := geo.CellOf(a, geo.AreaRes)
		if ca == geo.CellOf(b, geo.AreaRes) {
			continue
		}
		// a stays in a's area, b leaves it; the edge lies between them.
		for range 60 {
			m := geo.Point{Lat: (a.Lat + b.Lat) / 2, Lng: (a.Lng + b.Lng) / 2}
			if geo.CellOf(m, geo.AreaRes) == ca {
				a = m
			} else {
				b = m
			}
		}
		edges++
		for _, d := range []float64{0, 1e-12, -1e-12, 1e-9, -1e-9, 1e-8, -1e-8, 1e-6, -1e-6} {
			check(geo.Point{Lat: a.Lat + d, Lng: a.Lng})
			check(geo.Point{Lat: a.Lat, Lng: a.Lng + d})
		}
	}
	if edges < 1000 {
		t.Fatalf("only %d pairs of points in different areas", edges)
	}
}

// BenchmarkAreaOf keys pings all over the city; BenchmarkAreaOfH3 asks H3 the same.
func BenchmarkAreaOf(b *testing.B) { benchmarkArea(b, geo.AreaOf) }
func BenchmarkAreaOfH3(b *testing.B) {
	benchmarkArea(b, func(p geo.Point) geo.Cell { return geo.CellOf(p, geo.AreaRes) })
}

func benchmarkArea(b *testing.B, area func(geo.Point) geo.Cell) {
	r := rand.New(rand.NewPCG(3, 4))
	ps := make([]geo.Point, 4096)
	for i := range ps {
		ps[i] = geo.Point{Lat: 34.6 + 0.3*r.Float64(), Lng: 113.5 + 0.4*r.Float64()}
	}
	b.ResetTimer()
	for i := range b.N {
		area(ps[i%len(ps)])
	}
}
