package e2e

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"golang.org/x/sync/errgroup"

	"zhengxiang/geo"
	"zhengxiang/orders/kafka"
)

// pingSenders is the number of goroutines sending pings, and pingBatch the
// pings of one write.
const (
	pingSenders = 4
	pingBatch   = 1000
)

// sendPings sends n pings of the riders, in turn, to riders.locations, in
// batches: at rate pings a second from first, or as fast as the broker
// takes them when rate is 0. Each ping puts its rider within 30 m of where
// it went on shift, so that the pings leave the dispatcher's picture of the
// fleet about as it was.
func sendPings(ctx context.Context, prod *kafka.Producer, riders []riderPos, n int, rate float64, first time.Time, seed int64) error {
	if len(riders) == 0 || n == 0 {
		return nil
	}
	batch := pingBatch
	g, ctx := errgroup.WithContext(ctx)
	for w := range pingSenders {
		g.Go(func() error {
			r := rand.New(rand.NewPCG(uint64(seed), uint64(w)))
			ls := make([]kafka.Location, 0, batch)
			for lo := w * batch; lo < n; lo += pingSenders * batch {
				if rate > 0 {
					due := first.Add(time.Duration(float64(lo) / rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						select {
						case <-ctx.Done():
							return ctx.Err()
						case <-time.After(d):
						}
					}
				}
				ls = ls[:0]
				now := time.Now()
				for i := lo; i < min(lo+batch, n); i++ {
					rd := riders[i%len(riders)]
					d, dir := 30*r.Float64(), 2*math.Pi*r.Float64()
					p := geo.Plane{Origin: rd.p}.ToPoint(d*math.Cos(dir), d*math.Sin(dir))
					ls = append(ls, kafka.Location{RiderID: rd.id, Point: p, At: now, AccuracyM: 10})
				}
				if err := prod.ReportLocations(ctx, ls...); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}
