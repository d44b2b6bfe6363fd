package dispatch

import (
	"sync"
	"time"
)

// Clock tells the engine what time it is. The engine never reads the wall
// clock itself, so the same code dispatches live orders and replays a day.
type Clock interface {
	Now() time.Time
}

// WallClock is the real time.
type WallClock struct{}

// Now returns the current wall-clock time.
func (WallClock) Now() time.Time { return time.Now() }

// ManualClock is a clock that moves only when told to, for replays and tests.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock standing at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t; a clock never goes back, so an earlier t is ignored.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// ScaledClock runs Factor times faster than the wall clock, starting at a
// given time: a demo can live through a lunch peak in a few minutes with
// every part of the service running for real.
type ScaledClock struct {
	start, origin time.Time
	factor        float64
}

// NewScaledClock returns a clock that reads start now and runs factor times
// faster than the wall clock.
func NewScaledClock(start time.Time, factor float64) *ScaledClock {
	if factor <= 0 {
		factor = 1
	}
	return &ScaledClock{start: start, origin: time.Now(), factor: factor}
}

// Now returns the scaled time.
func (c *ScaledClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.origin)) * c.factor))
}

// Real converts a span of the clock's time into wall-clock time.
func (c *ScaledClock) Real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.factor)
}

// RealDuration converts a span of clock time into wall-clock time: the
// same span, unless the clock runs at another pace.
func RealDuration(c Clock, d time.Duration) time.Duration {
	if r, ok := c.(interface {
		Real(time.Duration) time.Duration
	}); ok {
		return r.Real(d)
	}
	return d
}
