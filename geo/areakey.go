package geo

import (
	"slices"
	"sync"
)

// AreaRes is the H3 resolution of dispatch areas (cells of about 36 km², edges of about 3.7
// km). Every order and rider position belongs to the area cell that contains it; the stream is
// keyed by area so that one dispatcher owns whole areas.
const AreaRes = 6

// AreaOf returns the dispatch area of p: its H3 cell at AreaRes. It returns the zero Cell when
// p is not a valid point.
//
// A city has a few dozen areas, and every rider's ping is keyed by one: AreaOf keeps the
// outlines of the areas it has met and answers a point well inside one of them without asking
// H3 (a call through cgo of about 2 µs, a tenth of a core at 50,000 pings a second). A point
// within rounding distance of an edge is asked of H3, so the answer is H3's.
func AreaOf(p Point) Cell {
	if !p.valid() {
		return 0
	}
	u := unitOfPoint(p)
	areas.mu.RLock()
	for i, g := range areas.geos {
		if g.contains(u) {
			c := areas.cells[i]
			areas.mu.RUnlock()
			return c
		}
	}
	areas.mu.RUnlock()
	c := CellOf(p, AreaRes)
	areas.mu.Lock()
	defer areas.mu.Unlock()
	if len(areas.cells) < maxKnownAreas && !slices.Contains(areas.cells, c) {
		areas.cells = append(areas.cells, c)
		areas.geos = append(areas.geos, newCellGeo(c))
	}
	return c
}

// areas are the dispatch areas AreaOf has met, with their outlines.
var areas struct {
	mu    sync.RWMutex
	cells []Cell
	geos  []*cellGeo
}

// maxKnownAreas bounds the outlines AreaOf keeps: a metropolis' worth. Past it, the areas not
// kept are asked of H3 every time.
const maxKnownAreas = 256
