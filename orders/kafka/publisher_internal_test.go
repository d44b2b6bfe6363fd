package kafka

import (
	"fmt"
	"testing"
)

func TestRefCacheGenerations(t *testing.T) {
	ref := func(id string) OrderRef {
		return OrderRef{Platform: "meituan", PlatformOrderID: "p-" + id, StoreID: "S1"}
	}
	has := func(c *refCache, id string) bool {
		t.Helper()
		r, ok := c.get(id)
		if ok && r != ref(id) {
			t.Fatalf("%s: got %+v, want %+v", id, r, ref(id))
		}
		return ok
	}
	c := newRefCache(3)
	for _, id := range []string{"a", "b", "c"} {
		c.put(id, ref(id))
	}
	c.put("a", ref("a")) // already there: no new generation
	if !has(c, "a") || !has(c, "b") || !has(c, "c") || c.len() != 3 {
		t.Fatalf("a full generation lost entries: %d left", c.len())
	}
	// d finds the current generation full: a, b and c become the previous one and are still
	// found; a found there moves back to the current one, with d.
	c.put("d", ref("d"))
	if !has(c, "d") || !has(c, "a") {
		t.Fatal("d or a forgotten after a new generation")
	}
	// e fills the current generation (d, a, e), f starts the next: b and c, not looked up since
	// they were put, are dropped with the oldest generation; a, d and e are still found.
	c.put("e", ref("e"))
	c.put("f", ref("f"))
	for _, id := range []string{"b", "c"} {
		if has(c, id) {
			t.Errorf("%s still remembered after two generations without a lookup", id)
		}
	}
	for _, id := range []string{"a", "d", "e", "f"} {
		if !has(c, id) {
			t.Errorf("%s forgotten", id)
		}
	}
	if n := c.len(); n != 4 {
		t.Errorf("%d entries, want a, d, e and f", n)
	}

	// However many orders, at most two generations.
	c = newRefCache(100)
	for i := range 10_000 {
		id := fmt.Sprint(i)
		c.put(id, ref(id))
		if n := c.len(); n > 200 {
			t.Fatalf("%d entries after %d orders, want at most 200", n, i+1)
		}
	}
	for i := 9_900; i < 10_000; i++ {
		if !has(c, fmt.Sprint(i)) {
			t.Fatalf("order %d, among the last 100, forgotten", i)
		}
	}
}
