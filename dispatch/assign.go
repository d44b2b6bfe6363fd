package dispatch

import (
	"container/heap"
	"math"
)

// edge is a column a row may take, at a cost.
type edge struct {
	col  int
	cost float64
}

// assign solves the round's matching: each row (a bundle) takes at most one
// of its edges' columns (riders), no column twice, or else is left for a
// later round at the cost wait[i], so that the total cost is least. It
// returns each row's column, or -1 for a row left waiting.
//
// It is the Hungarian method in its shortest-augmenting-path form on the
// sparse graph: rows are inserted one at a time, each by a Dijkstra search
// over reduced costs (column potentials keep them non-negative) that ends
// at the first free column reached, and the row's own waiting column is
// always free. A search visits only the riders near the bundle and the
// bundles those riders hold, so a round of a thousand bundles with ten
// candidates each costs milliseconds, where the dense form costs minutes.
func assign(rows [][]edge, wait []float64, m int) []int {
	n := len(rows)
	cols := m + n // column m+i is row i's waiting column
	v := make([]float64, cols)
	colRow := make([]int, cols)
	rowCol := make([]int, n)
	for j := range colRow {
		colRow[j] = -1
	}
	dist := make([]float64, cols)
	prev := make([]int, cols) // the column before j on the path, -1 from the row searched
	done := make([]bool, cols)
	for j := range dist {
		dist[j] = math.Inf(1)
	}
	var touched []int
	var h distHeap

	// costOf is the cost of row i taking column j.
	costOf := func(i, j int) float64 {
		if j >= m {
			return wait[i]
		}
		for _, e := range rows[i] {
			if e.col == j {
				return e.cost
			}
		}
		return math.Inf(1)
	}
	relax := func(i int, base, ui float64, from int) {
		try := func(j int, c float64) {
			d := base + c - ui - v[j]
			if done[j] || d >= dist[j] {
				return
			}
			if math.IsInf(dist[j], 1) {
				touched = append(touched, j)
			}
			dist[j], prev[j] = d, from
			heap.Push(&h, distItem{j, d})
		}
		for _, e := range rows[i] {
			try(e.col, e.cost)
		}
		try(m+i, wait[i])
	}

	for s := range n {
		touched, h = touched[:0], h[:0]
		relax(s, 0, 0, -1)
		sink, D := -1, 0.0
		for h.Len() > 0 {
			it := heap.Pop(&h).(distItem)
			j := it.col
			if done[j] || it.d > dist[j] {
				continue
			}
			done[j] = true
			if colRow[j] < 0 {
				sink, D = j, dist[j]
				break
			}
			i := colRow[j]
			relax(i, dist[j], costOf(i, j)-v[j], j)
		}
		// Potentials: every column settled before the sink moves by its
		// distance short of the sink's, which keeps every reduced cost
		// non-negative and the path's tight.
		for _, j := range touched {
			if done[j] {
				v[j] += dist[j] - D
			}
		}
		// Augment along the path back to the row searched.
		for j := sink; j >= 0; {
			p := prev[j]
			var i int
			if p < 0 {
				i = s
			} else {
				i = colRow[p]
			}
			colRow[j], rowCol[i] = i, j
			j = p
		}
		for _, j := range touched {
			dist[j], done[j] = math.Inf(1), false
		}
	}
	for i, j := range rowCol {
		if j >= m {
			rowCol[i] = -1
		}
	}
	return rowCol
}

type distItem struct {
	col int
	d   float64
}

// distHeap is a min-heap of columns by tentative distance; a column may sit
// in it more than once, the stale entries being skipped when popped.
type distHeap []distItem

func (h distHeap) Len() int           { return len(h) }
func (h distHeap) Less(a, b int) bool { return h[a].d < h[b].d }
func (h distHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *distHeap) Push(x any)        { *h = append(*h, x.(distItem)) }
func (h *distHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
