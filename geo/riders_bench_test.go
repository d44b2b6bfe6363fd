package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// benchIndex builds an index of n riders over Zhengzhou, half of them
// around hot spots.
func benchIndex(tb testing.TB, n int, t0 time.Time) (*RiderIndex[struct{}], []string, *rand.Rand) {
	tb.Helper()
	area := Zhengzhou()
	r := rand.New(rand.NewPCG(7, 11))
	ix := NewRiderIndex[struct{}](IndexConfig{})
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("rider-%06d", i)
		ix.Update(ids[i], testPoint(r, area), t0)
	}
	return ix, ids, r
}

func BenchmarkRiderIndexUpdate(b *testing.B) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ix, ids, r := benchIndex(b, 100_000, t0)
	// A random walk of pings, 20 to 100 m apart, replayed in a loop.
	type ping struct {
		id string
		p  Point
	}
	pings := make([]ping, 1<<18)
	for i := range pings {
		id := ids[r.IntN(len(ids))]
		p, _, _ := ix.Position(id)
		step, dir := 20+r.Float64()*80, r.Float64()*2*math.Pi
		p = Plane{Origin: p}.ToPoint(step*math.Cos(dir), step*math.Sin(dir))
		ix.Update(id, p, t0)
		pings[i] = ping{id, p}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		pg := pings[i&(len(pings)-1)]
		ix.Update(pg.id, pg.p, t0)
		i++
	}
}

func BenchmarkRiderIndexNearest10(b *testing.B) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ix, _, r := benchIndex(b, 100_000, t0)
	area := Zhengzhou()
	qs := make([]Point, 1<<14)
	for i := range qs {
		qs[i] = testPoint(r, area)
	}
	var dst []Neighbor[struct{}]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst = ix.Nearest(qs[i&(len(qs)-1)], 10, t0, nil, dst)
		i++
	}
}
