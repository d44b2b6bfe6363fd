package geo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/uber/h3-go/v4"
)

// Resolutions used across Zhengxiang.
const (
	// PositionRes is the H3 resolution of riders, addresses and stores
	// (cells of about 0.1 km², edges of about 174 m).
	PositionRes = 9
	// CoverageRes is the H3 resolution of delivery circles and the
	// coverage index (cells of about 0.74 km², edges of about 461 m).
	CoverageRes = 8
)

// MaxDiskK is the largest k that Cell.Disk accepts (about three million
// cells).
const MaxDiskK = 1000

// ErrInvalidCell is wrapped by errors about a string or number that is not a
// valid H3 cell.
var ErrInvalidCell = errors.New("geo: invalid cell")

// Cell is an H3 cell index. The zero Cell is not a valid cell; functions that
// cannot produce a cell return it.
type Cell uint64

// CellOf returns the H3 cell of p at resolution res. It returns the zero Cell
// when p is not a valid point or res is outside [0, 15].
func CellOf(p Point, res int) Cell {
	if !p.valid() || res < 0 || res > h3.MaxResolution {
		return 0
	}
	return Cell(h3.LatLngToCell(h3.NewLatLng(p.Lat, p.Lng), res))
}

// IsValid reports whether c is a valid H3 cell.
func (c Cell) IsValid() bool {
	return h3.Cell(c).IsValid()
}

// Resolution returns the H3 resolution of c, or -1 when c is not valid.
func (c Cell) Resolution() int {
	if !c.IsValid() {
		return -1
	}
	return h3.Cell(c).Resolution()
}

// Center returns the centre of c, or the zero Point when c is not valid.
func (c Cell) Center() Point {
	if !c.IsValid() {
		return Point{}
	}
	return c.center()
}

// center is Center for a cell known to be valid.
func (c Cell) center() Point {
	ll := h3.Cell(c).LatLng()
	return Point{Lat: ll.Lat, Lng: ll.Lng}
}

// String returns c in the hexadecimal form H3 tools print, such as
// "8931aa42a2bffff".
func (c Cell) String() string {
	return strconv.FormatUint(uint64(c), 16)
}

// ParseCell parses the hexadecimal form of an H3 cell, with or without a
// "0x" prefix. The error wraps ErrInvalidCell.
func ParseCell(s string) (Cell, error) {
	t := s
	if len(t) > 2 && strings.EqualFold(t[:2], "0x") {
		t = t[2:]
	}
	v, err := strconv.ParseUint(t, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a hexadecimal index", ErrInvalidCell, s)
	}
	c := Cell(v)
	if !c.IsValid() {
		return 0, fmt.Errorf("%w: %q is not an H3 cell", ErrInvalidCell, s)
	}
	return c, nil
}

// MarshalText implements encoding.TextMarshaler with the form of String.
func (c Cell) MarshalText() ([]byte, error) {
	return []byte(c.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseCell.
func (c *Cell) UnmarshalText(b []byte) error {
	v, err := ParseCell(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Parent returns the ancestor of c at resolution res, c itself when res is
// c's resolution, or the zero Cell when c is not valid or res is not between
// 0 and c's resolution.
func (c Cell) Parent(res int) Cell {
	r := c.Resolution()
	if r < 0 || res < 0 || res > r {
		return 0
	}
	return Cell(h3.Cell(c).Parent(res))
}

// Disk returns the cells within grid distance k of c, c included, in no
// particular order. It returns nil when c is not valid or k is outside
// [0, MaxDiskK].
func (c Cell) Disk(k int) []Cell {
	if k < 0 || k > MaxDiskK || !c.IsValid() {
		return nil
	}
	hs := h3.GridDisk(h3.Cell(c), k)
	out := make([]Cell, 0, len(hs))
	for _, h := range hs {
		if h != 0 {
			out = append(out, Cell(h))
		}
	}
	return out
}

// gridRings returns the cells of c's disk of radius k grouped by grid
// distance: rings[d] holds the cells exactly d steps from c. c must be valid.
func gridRings(c Cell, k int) [][]Cell {
	hs := h3.GridDiskDistances(h3.Cell(c), k)
	out := make([][]Cell, len(hs))
	for d, ring := range hs {
		out[d] = make([]Cell, 0, len(ring))
		for _, h := range ring {
			if h != 0 {
				out[d] = append(out[d], Cell(h))
			}
		}
	}
	return out
}

// h3Boundary returns the outline of a valid cell.
func h3Boundary(c Cell) []h3.LatLng {
	return h3.Cell(c).Boundary()
}

// h3AreaM2 returns the area of a valid cell in square metres.
func h3AreaM2(c Cell) float64 {
	return h3.CellAreaM2(h3.Cell(c))
}
