package geo

import (
	"slices"
	"sync"
)

// maxCircleRings bounds how far CircleOf grows a circle (about 180 km at
// CoverageRes).
const maxCircleRings = 200

// Circle is a store's delivery circle: the cells at CoverageRes whose
// promise from the store to the cell's centre fits within the limit.
type Circle struct {
	Store  string
	Center Point
	// Cells are sorted ascending.
	Cells []Cell
}

// CircleOf computes the circle of the store at center for an order that
// takes prepMin minutes to prepare, under the travel model t: the cells at
// CoverageRes whose PromiseMinutes to the cell's centre is at most limitMin,
// restricted to area's cells when area is not nil. It grows GridDisk rings
// around the store's cell until a whole ring lies beyond the limit. The
// circle is empty when center is not a valid point or t is nil.
func CircleOf(store string, center Point, prepMin, limitMin float64, t Travel, area *Area) Circle {
	c := Circle{Store: store, Center: center}
	o := CellOf(center, CoverageRes)
	if o == 0 || t == nil {
		return c
	}
	k, rings := 0, gridRings(o, 8)
	for ; k <= maxCircleRings; k++ {
		if k >= len(rings) {
			n := min(2*(len(rings)-1), maxCircleRings)
			if n < k {
				break
			}
			rings = gridRings(o, n)
		}
		within := false
		for _, cell := range rings[k] {
			if !(PromiseMinutes(t, prepMin, center, cell.center()) <= limitMin) {
				continue
			}
			within = true
			if area == nil {
				c.Cells = append(c.Cells, cell)
			} else if _, ok := area.district(cell); ok {
				c.Cells = append(c.Cells, cell)
			}
		}
		if !within {
			break
		}
	}
	slices.Sort(c.Cells)
	return c
}

// Coverage maps cells at CoverageRes to the stores whose circles contain
// them, so the stores that can serve an address are found with one lookup.
// It is safe for concurrent use; the zero Coverage is empty and ready.
type Coverage struct {
	mu      sync.RWMutex
	byCell  map[Cell][]string // sorted store names
	circles map[string]Circle
}

// NewCoverage returns an empty coverage index.
func NewCoverage() *Coverage {
	return &Coverage{byCell: map[Cell][]string{}, circles: map[string]Circle{}}
}

// Add indexes c, replacing any circle the store had before. c.Cells should
// be cells at CoverageRes; c is copied.
func (cv *Coverage) Add(c Circle) {
	c.Cells = slices.Clone(c.Cells)
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.byCell == nil {
		cv.byCell, cv.circles = map[Cell][]string{}, map[string]Circle{}
	}
	cv.remove(c.Store)
	cv.circles[c.Store] = c
	for _, cell := range c.Cells {
		s := cv.byCell[cell]
		i, found := slices.BinarySearch(s, c.Store)
		if !found {
			cv.byCell[cell] = slices.Insert(s, i, c.Store)
		}
	}
}

// Remove drops the store's circle; it does nothing for an unknown store.
func (cv *Coverage) Remove(store string) {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	cv.remove(store)
}

func (cv *Coverage) remove(store string) {
	old, ok := cv.circles[store]
	if !ok {
		return
	}
	delete(cv.circles, store)
	for _, cell := range old.Cells {
		s := cv.byCell[cell]
		if i, found := slices.BinarySearch(s, store); found {
			s = slices.Delete(s, i, i+1)
		}
		if len(s) == 0 {
			delete(cv.byCell, cell)
		} else {
			cv.byCell[cell] = s
		}
	}
}

// Stores returns, sorted, the stores whose circles contain p's cell at
// CoverageRes. It returns nil when there are none.
func (cv *Coverage) Stores(p Point) []string {
	return cv.StoresInCell(CellOf(p, CoverageRes))
}

// StoresInCell returns, sorted, the stores whose circles contain the cell c
// (at CoverageRes).
func (cv *Coverage) StoresInCell(c Cell) []string {
	cv.mu.RLock()
	defer cv.mu.RUnlock()
	return slices.Clone(cv.byCell[c])
}

// Covers reports whether the store's circle contains p's cell at
// CoverageRes: whether Stores(p) holds the store, without building the list.
func (cv *Coverage) Covers(store string, p Point) bool {
	c := CellOf(p, CoverageRes)
	cv.mu.RLock()
	defer cv.mu.RUnlock()
	_, found := slices.BinarySearch(cv.byCell[c], store)
	return found
}

// Circle returns the store's indexed circle.
func (cv *Coverage) Circle(store string) (Circle, bool) {
	cv.mu.RLock()
	defer cv.mu.RUnlock()
	c, ok := cv.circles[store]
	c.Cells = slices.Clone(c.Cells)
	return c, ok
}

// Len returns the number of indexed stores.
func (cv *Coverage) Len() int {
	cv.mu.RLock()
	defer cv.mu.RUnlock()
	return len(cv.circles)
}
