package geo

import (
	"math"

	"github.com/uber/h3-go/v4"
)

// maxAtlasEntries caps each of an atlas's caches; a full cache is cleared
// and refilled on demand.
const maxAtlasEntries = 1 << 18

// atlas caches cell outlines at one resolution and finds the cell of a point
// mostly without calling H3: it starts from the cell last found near the
// point and walks across edges until a cell contains the point well inside.
// It is not safe for concurrent use.
type atlas struct {
	res     int
	quantum float64 // degrees per hint square, about one cell edge
	geos    map[Cell]*cellGeo
	hints   map[uint64]Cell
}

func newAtlas(res int) *atlas {
	return &atlas{
		res:     res,
		quantum: h3.HexagonEdgeLengthAvgM(res) / (EarthRadiusM * degToRad),
		geos:    map[Cell]*cellGeo{},
		hints:   map[uint64]Cell{},
	}
}

// geo returns the outline of the valid cell c.
func (at *atlas) geo(c Cell) *cellGeo {
	if g, ok := at.geos[c]; ok {
		return g
	}
	if len(at.geos) >= maxAtlasEntries {
		clear(at.geos)
	}
	g := newCellGeo(c)
	at.geos[c] = g
	return g
}

// locate returns the cell of the valid point p, whose unit vector is u.
// The answer is H3's whenever the walk finishes; points within a hair of an
// edge are left to H3.
func (at *atlas) locate(p Point, u vec3) Cell {
	key := uint64(math.Floor((p.Lat+90)/at.quantum))<<32 | uint64(math.Floor((p.Lng+180)/at.quantum))
	if c, ok := at.hints[key]; ok {
		for range 8 {
			g := at.geo(c)
			if g.contains(u) {
				return c
			}
			if c = g.step(u); c == 0 {
				break
			}
		}
	}
	c := CellOf(p, at.res)
	if len(at.hints) >= maxAtlasEntries {
		clear(at.hints)
	}
	at.hints[key] = c
	return c
}
