package dispatch

import "container/heap"

// dueQueue holds items by the minute they fall due, the earliest first;
// items due at the same minute come out in the order they went in. The zero
// dueQueue is empty.
type dueQueue[T any] struct {
	items dueItems[T]
	seq   int
}

// push adds x, due at minute at.
func (q *dueQueue[T]) push(at float64, x T) {
	q.seq++
	heap.Push(&q.items, dueItem[T]{at, q.seq, x})
}

// pop takes out the earliest item if it is due at minute now, with the
// minute it was due at; ok is false when none is due.
func (q *dueQueue[T]) pop(now float64) (at float64, x T, ok bool) {
	if len(q.items) == 0 || q.items[0].at > now {
		return 0, x, false
	}
	it := heap.Pop(&q.items).(dueItem[T])
	return it.at, it.x, true
}

// dueBy tells whether an item is due at minute now.
func (q *dueQueue[T]) dueBy(now float64) bool { return len(q.items) > 0 && q.items[0].at <= now }

type dueItem[T any] struct {
	at  float64
	seq int
	x   T
}

// dueItems is the heap (container/heap) under a dueQueue.
type dueItems[T any] []dueItem[T]

func (h dueItems[T]) Len() int { return len(h) }
func (h dueItems[T]) Less(a, b int) bool {
	return h[a].at < h[b].at || h[a].at == h[b].at && h[a].seq < h[b].seq
}
func (h dueItems[T]) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *dueItems[T]) Push(x any)   { *h = append(*h, x.(dueItem[T])) }
func (h *dueItems[T]) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = dueItem[T]{}
	*h = old[:len(old)-1]
	return x
}
