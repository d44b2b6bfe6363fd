package geo

import (
	"math"
	"slices"
	"sync"
	"testing"
)

func TestCircleOf(t *testing.T) {
	area := Zhengzhou()
	road := DefaultRoadModel()
	mdrp := PlanarModel{Plane: Plane{Origin: erqiSquare}, MetersPerMinute: 320, PickupMin: 4, DropoffMin: 4}
	tests := []struct {
		name      string
		center    Point
		prep      float64
		limit     float64
		travel    Travel
		area      *Area
		wantEmpty bool
	}{
		{name: "Erqi Square, 60 minutes", center: erqiSquare, prep: 10, limit: 60, travel: road, area: area},
		{name: "unclipped", center: erqiSquare, prep: 10, limit: 60, travel: road},
		{name: "edge of town, clipped", center: Point{Lat: 34.8700, Lng: 113.6300}, prep: 15, limit: 45, travel: road, area: area},
		{name: "planar model", center: erqiSquare, prep: 8, limit: 40, travel: mdrp, area: area},
		{name: "limit below the fixed times", center: erqiSquare, prep: 50, limit: 55, travel: road, wantEmpty: true},
		{name: "NaN limit", center: erqiSquare, prep: 10, limit: math.NaN(), travel: road, wantEmpty: true},
		{name: "invalid centre", center: Point{Lat: 200}, prep: 10, limit: 60, travel: road, wantEmpty: true},
		{name: "nil travel", center: erqiSquare, prep: 10, limit: 60, wantEmpty: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := CircleOf("store-1", tc.center, tc.prep, tc.limit, tc.travel, tc.area)
			if c.Store != "store-1" || c.Center != tc.center {
				t.Errorf("Circle = %q at %v", c.Store, c.Center)
			}
			if tc.wantEmpty {
				if len(c.Cells) != 0 {
					t.Fatalf("%d cells, want none", len(c.Cells))
				}
				return
			}
			if len(c.Cells) == 0 {
				t.Fatal("empty circle")
			}
			if !slices.IsSorted(c.Cells) {
				t.Error("cells are not sorted")
			}
			promise := func(cell Cell) float64 {
				return PromiseMinutes(tc.travel, tc.prep, tc.center, cell.Center())
			}
			maxRing := 0
			o := CellOf(tc.center, CoverageRes)
			rings := gridRings(o, 40)
			ringOf := map[Cell]int{}
			for d, r := range rings {
				for _, cell := range r {
					ringOf[cell] = d
				}
			}
			for _, cell := range c.Cells {
				if p := promise(cell); p > tc.limit {
					t.Fatalf("cell %s has promise %.2f > %v", cell, p, tc.limit)
				}
				if tc.area != nil && !tc.area.ContainsCell(cell) {
					t.Fatalf("cell %s is outside the area", cell)
				}
				maxRing = max(maxRing, ringOf[cell])
			}
			// Every cell within the limit out to the first ring beyond
			// the circle is in it, and that ring is wholly outside.
			in := map[Cell]bool{}
			for _, cell := range c.Cells {
				in[cell] = true
			}
			for d := 0; d <= maxRing+1; d++ {
				for _, cell := range rings[d] {
					fits := promise(cell) <= tc.limit
					if fits && !in[cell] && (tc.area == nil || tc.area.ContainsCell(cell)) {
						t.Fatalf("cell %s in ring %d fits (%.2f) but is missing", cell, d, promise(cell))
					}
					if d == maxRing+1 && fits && tc.area == nil {
						t.Fatalf("cell %s in the first ring beyond fits", cell)
					}
				}
			}
		})
	}
}

func TestCoverage(t *testing.T) {
	area := Zhengzhou()
	road := DefaultRoadModel()
	cbd := Point{Lat: 34.7685, Lng: 113.7270}
	hightech := Point{Lat: 34.8080, Lng: 113.5530}
	cv := NewCoverage()
	// 35 minutes leave 19 for riding: 3.65 km at 250 m/min with a detour
	// of 1.3. Erqi Square and the CBD are 5.5 km apart.
	cv.Add(CircleOf("erqi", erqiSquare, 10, 35, road, area))
	cv.Add(CircleOf("cbd", cbd, 10, 35, road, area))
	cv.Add(CircleOf("hightech", hightech, 10, 35, road, area))
	if cv.Len() != 3 {
		t.Fatalf("Len = %d", cv.Len())
	}
	tests := []struct {
		name string
		p    Point
		want []string
	}{
		{name: "at Erqi Square", p: erqiSquare, want: []string{"erqi"}},
		{name: "halfway to the CBD", p: Point{Lat: 34.7625, Lng: 113.6977}, want: []string{"cbd", "erqi"}},
		{name: "at the high-tech zone", p: hightech, want: []string{"hightech"}},
		{name: "Beijing", p: Point{Lat: 39.9, Lng: 116.4}},
		{name: "NaN", p: Point{Lat: math.NaN()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cv.Stores(tc.p); !slices.Equal(got, tc.want) {
				t.Errorf("Stores = %v, want %v", got, tc.want)
			}
			for _, s := range []string{"cbd", "erqi", "hightech", "no such store", ""} {
				if got, want := cv.Covers(s, tc.p), slices.Contains(tc.want, s); got != want {
					t.Errorf("Covers(%q) = %v, want %v", s, got, want)
				}
			}
		})
	}

	cv.Remove("erqi")
	if got := cv.Stores(erqiSquare); got != nil {
		t.Errorf("after Remove, Stores = %v", got)
	}
	cv.Remove("no such store")
	// Adding again replaces the old circle.
	cv.Add(CircleOf("cbd", erqiSquare, 10, 20, road, area))
	if got := cv.Stores(cbd); got != nil || cv.Covers("cbd", cbd) {
		t.Errorf("replaced circle still covers its old centre: %v", got)
	}
	if got := cv.Stores(erqiSquare); !slices.Equal(got, []string{"cbd"}) {
		t.Errorf("replaced circle: Stores = %v", got)
	}
	c, ok := cv.Circle("cbd")
	if !ok || c.Center != erqiSquare {
		t.Errorf("Circle = %v, %v", c.Center, ok)
	}

	var zero Coverage
	zero.Add(Circle{Store: "s", Cells: []Cell{CellOf(erqiSquare, CoverageRes)}})
	if got := zero.Stores(erqiSquare); !slices.Equal(got, []string{"s"}) {
		t.Errorf("zero Coverage: Stores = %v", got)
	}
}

func TestCoverageConcurrentReads(t *testing.T) {
	cv := NewCoverage()
	cv.Add(CircleOf("erqi", erqiSquare, 10, 30, DefaultRoadModel(), nil))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if len(cv.Stores(erqiSquare)) == 0 {
					t.Error("lost the store")
					return
				}
			}
		})
	}
	cv.Add(CircleOf("other", erqiSquare, 10, 30, DefaultRoadModel(), nil))
	wg.Wait()
}
