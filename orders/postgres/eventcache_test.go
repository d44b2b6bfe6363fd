package postgres

import (
	"fmt"
	"testing"
	"time"

	"zhengxiang/orders"
)

// TestEventCache: the cache gives back what was put and not forgotten, keeps an entry for at
// least half of cacheTTL and at most cacheTTL, and holds at most cacheMax.
func TestEventCache(t *testing.T) {
	t0 := time.Date(2020, 3, 15, 10, 0, 0, 0, time.UTC)
	ev := func(id string, seq int64) orders.Event { return orders.Event{OrderID: id, Seq: seq, At: t0} }
	has := func(c *eventCache, id string, seq int64) bool {
		found := make([]orders.Event, 1)
		return len(c.get([]eventKey{{id, seq}}, found)) == 0 && found[0].OrderID == id && found[0].Seq == seq
	}
	c := newEventCache()
	c.putAt(t0, ev("A", 1), ev("A", 2), ev("B", 1))
	c.forget([]eventKey{{"A", 1}})
	if has(c, "A", 1) || !has(c, "A", 2) || !has(c, "B", 1) || has(c, "C", 1) {
		t.Fatal("after put and forget: wrong entries")
	}
	c.putAt(t0.Add(cacheTTL/2), ev("C", 1)) // A and B move to the older generation
	if !has(c, "A", 2) || !has(c, "B", 1) || !has(c, "C", 1) {
		t.Fatal("an entry half cacheTTL old is gone")
	}
	c.forget([]eventKey{{"B", 1}})
	if has(c, "B", 1) {
		t.Fatal("an entry of the older generation is still there once forgotten")
	}
	c.putAt(t0.Add(cacheTTL), ev("D", 1)) // A leaves, C moves
	if has(c, "A", 2) || has(c, "B", 1) || !has(c, "C", 1) || !has(c, "D", 1) {
		t.Fatal("after cacheTTL: wrong entries")
	}

	c = newEventCache()
	for i := range cacheMax + 1 {
		c.putAt(t0, ev(fmt.Sprint(i), 1))
	}
	if n := len(c.cur) + len(c.prev); n > cacheMax {
		t.Errorf("%d entries, at most %d", n, cacheMax)
	}
	if has(c, "0", 1) || !has(c, fmt.Sprint(cacheMax), 1) {
		t.Error("a full cache keeps its oldest entry or loses its newest")
	}
}
