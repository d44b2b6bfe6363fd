package geo_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"zhengxiang/geo"
)

func ExampleCell_Bounds() {
	c, _ := geo.ParseCell("8940954924fffff") // near the Erqi Tower
	sw, ne := c.Bounds()
	fmt.Println(sw, ne)
	// Output:
	// (34.756504, 113.665845) (34.759696, 113.669685)
}

// TestCellBounds checks that every point of a cell lies in its box, for
// cells around Zhengzhou, and that the box is not much larger than the cell.
func TestCellBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		centre := geo.Point{Lat: 34.6 + 0.3*r.Float64(), Lng: 113.5 + 0.3*r.Float64()}
		c := geo.CellOf(centre, geo.PositionRes)
		sw, ne := c.Bounds()
		if ne.Lat-sw.Lat > 0.01 || ne.Lng-sw.Lng > 0.01 {
			t.Fatalf("cell %s: box %v..%v is larger than a resolution-9 cell", c, sw, ne)
		}
		for range 2000 {
			p := geo.Point{Lat: centre.Lat + (r.Float64()-0.5)*0.01, Lng: centre.Lng + (r.Float64()-0.5)*0.01}
			if geo.CellOf(p, geo.PositionRes) != c {
				continue
			}
			if p.Lat < sw.Lat || p.Lat > ne.Lat || p.Lng < sw.Lng || p.Lng > ne.Lng {
				t.Fatalf("cell %s: %v lies outside its box %v..%v", c, p, sw, ne)
			}
		}
	}
	if sw, ne := geo.Cell(0).Bounds(); sw != (geo.Point{}) || ne != (geo.Point{}) {
		t.Errorf("the zero cell's box is %v..%v, want zero points", sw, ne)
	}
}
