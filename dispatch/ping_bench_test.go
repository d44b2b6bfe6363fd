package dispatch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/memory"
)

// BenchmarkPingMany feeds a city's fleet's positions to the engine as the
// intake of riders.locations does: batches of 500 pings of riders picked at
// random, each a few metres from its last position, with a round after
// every 26 batches (some 13,000 pings, what a round takes in at 52,000
// pings a second and four rounds a second). It reports the time per ping,
// the round's share included.
func BenchmarkPingMany(b *testing.B) {
	for _, riders := range []int{10_000, 200_000} {
		b.Run(fmt.Sprint(riders), func(b *testing.B) {
			ctx := context.Background()
			t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			clock := dispatch.NewManualClock(t0)
			e, err := dispatch.New(dispatch.Config{}, memory.NewRepository(nil), geo.DefaultRoadModel(), clock, nil)
			if err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			area := geo.Zhengzhou()
			ids := make([]string, riders)
			pos := make([]geo.Point, riders)
			for i := range ids {
				ids[i], pos[i] = fmt.Sprintf("R%06d", i), area.RandomPoint(r)
				rd := orders.Rider{ID: ids[i], Capacity: 3, Point: pos[i], ShiftEnd: t0.Add(8 * time.Hour)}
				if err := e.StartShift(ctx, rd); err != nil {
					b.Fatal(err)
				}
			}
			// The moves are made beforehand: 256 batches, played in turn.
			const batch, batchesPerRound, batches = 500, 26, 256
			bids, bps := make([][]string, batches), make([][]geo.Point, batches)
			for i := range batches {
				bids[i], bps[i] = make([]string, batch), make([]geo.Point, batch)
				for j := range batch {
					k := r.IntN(riders)
					pos[k] = geo.Plane{Origin: pos[k]}.ToPoint(r.NormFloat64()*10, r.NormFloat64()*10)
					bids[i][j], bps[i][j] = ids[k], pos[k]
				}
			}
			// The first round puts the whole fleet in its indexes.
			if _, err := e.Round(ctx); err != nil {
				b.Fatal(err)
			}
			n := 0
			for b.Loop() {
				ids, ps := bids[n%batches], bps[n%batches]
				for j, err := range e.PingMany(ids, ps) {
					if err != nil {
						b.Fatalf("ping %s: %v", ids[j], err)
					}
				}
				if n++; n%batchesPerRound == 0 {
					if _, err := e.Round(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/ping")
		})
	}
}
