package dispatch

import (
	"math"
	"time"

	"zhengxiang/geo"
)

// Promise policy of the 1-hour circle: the promise is the computed
// preparation, pickup, ride and hand-over time rounded up to a minute plus
// PromiseBuffer, and never more than PromiseCap.
const (
	PromiseBuffer = 8 * time.Minute
	PromiseCap    = 60 * time.Minute
)

// Promise returns how long after placement an order from a store preparing
// for prepMin minutes is promised at dest.
func Promise(t geo.Travel, prepMin float64, store, dest geo.Point) time.Duration {
	m := math.Ceil(geo.PromiseMinutes(t, prepMin, store, dest)) + PromiseBuffer.Minutes()
	return time.Duration(math.Min(m, PromiseCap.Minutes()) * float64(time.Minute))
}
