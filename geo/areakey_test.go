package geo_test

import (
	"fmt"
	"math"
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
