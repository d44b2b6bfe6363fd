package geo

// AreaRes is the H3 resolution of dispatch areas (cells of about 36 km², edges of about 3.7
// km). Every order and rider position belongs to the area cell that contains it; the stream is
// keyed by area so that one dispatcher owns whole areas.
const AreaRes = 6

// AreaOf returns the dispatch area of p: its H3 cell at AreaRes. It returns the zero Cell when
// p is not a valid point.
func AreaOf(p Point) Cell {
	return CellOf(p, AreaRes)
}
