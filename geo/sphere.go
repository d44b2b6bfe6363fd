package geo

import (
	"math"
	"slices"
)

// vec3 is a point on the unit sphere, or a plane normal, in Earth-centred
// coordinates.
type vec3 struct{ x, y, z float64 }

func unitOf(latRad, lngRad float64) vec3 {
	sl, cl := math.Sincos(latRad)
	sg, cg := math.Sincos(lngRad)
	return vec3{cl * cg, cl * sg, sl}
}

func unitOfPoint(p Point) vec3 { return unitOf(p.Lat*degToRad, p.Lng*degToRad) }

func (a vec3) point() Point {
	return Point{
		Lat: math.Asin(math.Max(-1, math.Min(1, a.z))) / degToRad,
		Lng: math.Atan2(a.y, a.x) / degToRad,
	}
}

func (a vec3) dot(b vec3) float64 { return a.x*b.x + a.y*b.y + a.z*b.z }

func (a vec3) cross(b vec3) vec3 {
	return vec3{a.y*b.z - a.z*b.y, a.z*b.x - a.x*b.z, a.x*b.y - a.y*b.x}
}

func (a vec3) add(b vec3) vec3 { return vec3{a.x + b.x, a.y + b.y, a.z + b.z} }

func (a vec3) sub(b vec3) vec3 { return vec3{a.x - b.x, a.y - b.y, a.z - b.z} }

func (a vec3) scale(s float64) vec3 { return vec3{a.x * s, a.y * s, a.z * s} }

func (a vec3) norm() float64 { return math.Sqrt(a.dot(a)) }

// angle returns the central angle between unit vectors a and b.
func angle(a, b vec3) float64 {
	return math.Atan2(a.cross(b).norm(), a.dot(b))
}

func (a vec3) unit() vec3 {
	if l := a.norm(); l > 0 {
		return a.scale(1 / l)
	}
	return a
}

// insideEps is the margin, on the unit sphere (about 0.6 mm on the ground),
// within which a point counts as too close to a cell edge to be placed
// without asking H3.
const insideEps = 1e-10

// cellGeo is the outline of an H3 cell on the unit sphere. H3 cells are
// hexagons in the gnomonic projection of an icosahedron face, and the
// gnomonic projection maps great circles to straight lines, so the edges
// are great-circle arcs; a hexagon that does not cross a face edge is convex
// and described exactly by its six edge planes.
type cellGeo struct {
	// edges run counter-clockwise seen from outside the sphere, so that
	// their normals point into the cell.
	edges []edge
	// convex is set for plain hexagons, the only cells contains answers for.
	convex bool
	// center is the cell's centre; every point of the cell lies within
	// the angle rho of it, and sinRho and cosRho are the sine and cosine
	// of rho/2.
	center         vec3
	sinRho, cosRho float64
}

// edge is one edge of a cell outline, from a to b.
type edge struct {
	a, b vec3
	// n is the unit normal of the plane through a and b, pointing into the
	// cell; start = n × a and end = b × n tell whether a point's foot on
	// that plane falls between a and b.
	n, start, end vec3
	// across is the cell on the other side, or zero when unknown.
	across Cell
}

// newCellGeo measures the valid cell c.
func newCellGeo(c Cell) *cellGeo {
	b := h3Boundary(c)
	n := len(b)
	verts := make([]vec3, n)
	for i, v := range b {
		verts[i] = unitOf(v.Lat*degToRad, v.Lng*degToRad)
	}
	ctr := unitOfPoint(c.center())
	g := &cellGeo{edges: make([]edge, n), center: ctr, convex: n == 6}
	rho := 0.0
	for _, v := range verts {
		rho = max(rho, angle(ctr, v))
	}
	// A small cap around a vertex set holds the arcs between them; the
	// extra 1e-12 rad covers rounding.
	g.sinRho, g.cosRho = math.Sincos((rho + 1e-12) / 2)
	turn := 0.0
	for i := range n {
		turn += verts[i].cross(verts[(i+1)%n]).dot(ctr)
	}
	if turn < 0 {
		slices.Reverse(verts)
	}
	res := c.Resolution()
	for i := range g.edges {
		e := &g.edges[i]
		e.a, e.b = verts[i], verts[(i+1)%n]
		e.n = e.a.cross(e.b).unit()
		e.start, e.end = e.n.cross(e.a), e.b.cross(e.n)
		if e.n == (vec3{}) || e.n.dot(ctr) <= 0 {
			g.convex = false
			continue
		}
		// Step just outside the middle of the edge to find the neighbour.
		mid := e.a.add(e.b).unit()
		out := mid.sub(e.n.scale(e.a.sub(e.b).norm() * 1e-3)).unit()
		if nb := CellOf(out.point(), res); nb != c {
			e.across = nb
		}
	}
	return g
}

// contains reports whether u lies inside the cell by more than insideEps
// from every edge. False means "ask H3", not "outside".
func (g *cellGeo) contains(u vec3) bool {
	if !g.convex {
		return false
	}
	for i := range g.edges {
		if g.edges[i].n.dot(u) <= insideEps {
			return false
		}
	}
	return true
}

// within reports whether the edge comes within the distance whose
// haversine term (sin² of half its angle) is t of u; t must be at most 1/2
// (a quarter of the way round the Earth) and sin2 must be sin² of the
// whole angle, 4t(1-t). When the foot of u on the edge's great circle lies
// between the end points, the distance is asin|u·n|; otherwise it is the
// distance to the nearer end point, whose chord is 2√t at the limit.
func (e *edge) within(u vec3, t, sin2 float64) bool {
	if e.n != (vec3{}) && u.dot(e.start) >= 0 && u.dot(e.end) >= 0 {
		s := u.dot(e.n)
		return s*s <= sin2
	}
	da, db := u.sub(e.a), u.sub(e.b)
	return min(da.dot(da), db.dot(db)) <= 4*t
}

// step returns the neighbour across the edge that u lies farthest beyond,
// or zero when u is inside every edge or that neighbour is unknown.
func (g *cellGeo) step(u vec3) Cell {
	best, bi := 0.0, -1
	for i := range g.edges {
		if d := g.edges[i].n.dot(u); d < best {
			best, bi = d, i
		}
	}
	if bi < 0 {
		return 0
	}
	return g.edges[bi].across
}
