package geo

import "math"

// boundsMarginDeg widens a cell's box beyond its corners, about a metre:
// an edge between two corners bulges a little beyond the straight line.
const boundsMarginDeg = 1e-5

// Bounds returns the south-west and north-east corners of a box that holds
// c, for a query on coordinates that then keeps the points whose CellOf is
// c. It returns two zero Points when c is not valid. A cell across the
// antimeridian gets a box around the whole world's longitudes.
func (c Cell) Bounds() (sw, ne Point) {
	if !c.IsValid() {
		return Point{}, Point{}
	}
	sw = Point{Lat: math.Inf(1), Lng: math.Inf(1)}
	ne = Point{Lat: math.Inf(-1), Lng: math.Inf(-1)}
	for _, v := range h3Boundary(c) {
		sw.Lat, sw.Lng = math.Min(sw.Lat, v.Lat), math.Min(sw.Lng, v.Lng)
		ne.Lat, ne.Lng = math.Max(ne.Lat, v.Lat), math.Max(ne.Lng, v.Lng)
	}
	if ne.Lng-sw.Lng > 180 {
		sw.Lng, ne.Lng = -180, 180
	}
	sw = Point{Lat: math.Max(sw.Lat-boundsMarginDeg, -90), Lng: math.Max(sw.Lng-boundsMarginDeg, -180)}
	ne = Point{Lat: math.Min(ne.Lat+boundsMarginDeg, 90), Lng: math.Min(ne.Lng+boundsMarginDeg, 180)}
	return sw, ne
}
