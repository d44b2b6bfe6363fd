package sim

import (
	"math/rand/v2"
	"testing"
)

// TestQueueOrder pushes events in a random order, popping some on the way, and checks that they
// come out by minute, then kind, then the order they were scheduled in.
func TestQueueOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q queue
	var out []event
	for seq := 1; seq <= 5000; seq++ {
		q.push(event{at: float64(rng.IntN(50)), kind: kind(rng.IntN(int(evShiftEnd) + 1)), seq: seq})
		if rng.IntN(4) == 0 {
			e := q.pop()
			if q.Len() > 0 && before(q[0], e) {
				t.Fatalf("popped %+v while the queue held %+v", e, q[0])
			}
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		t.Fatal("nothing popped on the way")
	}
	// What is left must come out wholly in order.
	var rest []event
	for q.Len() > 0 {
		rest = append(rest, q.pop())
	}
	for i := 1; i < len(rest); i++ {
		if before(rest[i], rest[i-1]) {
			t.Fatalf("event %d %+v came out after %+v", i, rest[i], rest[i-1])
		}
	}
	if len(out)+len(rest) != 5000 {
		t.Fatalf("%d events came out of 5000", len(out)+len(rest))
	}
}

func before(a, b event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.seq < b.seq
}
