package dispatch

import (
	"fmt"
	"math"
	"slices"
	"time"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// 郑享制造 (factory goods, orders.SectionMade) is a service class of its
// own: its orders are pushed to the factory and delivered the same day by
// same-city logistics, outside the 1-hour promise. A factory's goods go out
// in collection waves at fixed times of day (Config.MadeWaves); an order
// goes with the first wave its goods are ready for, its ready time is that
// wave, and it is promised at the door by the wave day's deadline
// (Config.MadeDeadline). The engine holds such an order out of the rounds
// until its wave, carries the orders of a factory's wave together in trips
// of up to Config.MadeMaxBundle as long as each stays within its promise,
// and never cancels one against the 1-hour MaxClickToDoor.

// Defaults of the 郑享制造 service class (see Config.MadeWaves).
const (
	DefaultMadeDeadline  = 21 * time.Hour
	DefaultMadeMaxBundle = 8
	// maxMadeBundle is the most MadeMaxBundle may be.
	maxMadeBundle = 16
)

// DefaultMadeWaves returns the default collection waves: 10:00, 13:00,
// 16:00 and 19:00 China Standard Time.
func DefaultMadeWaves() []time.Duration {
	return []time.Duration{10 * time.Hour, 13 * time.Hour, 16 * time.Hour, 19 * time.Hour}
}

// validateMade fills the defaults of the 郑享制造 service class and checks
// it: at least one wave, the waves within a day and in order, the deadline
// after the last wave and within the day.
func (c *Config) validateMade() error {
	if c.MadeWaves == nil {
		c.MadeWaves = DefaultMadeWaves()
	}
	if c.MadeDeadline == 0 {
		c.MadeDeadline = DefaultMadeDeadline
	}
	if c.MadeMaxBundle == 0 {
		c.MadeMaxBundle = DefaultMadeMaxBundle
	}
	if len(c.MadeWaves) == 0 {
		return fmt.Errorf("dispatch config: made_waves: at least one wave is needed")
	}
	for i, w := range c.MadeWaves {
		if w < 0 || w >= 24*time.Hour {
			return fmt.Errorf("dispatch config: made_waves[%d]: %v is not a time of day", i, w)
		}
		if i > 0 && w <= c.MadeWaves[i-1] {
			return fmt.Errorf("dispatch config: made_waves[%d]: %v is not after %v", i, w, c.MadeWaves[i-1])
		}
	}
	if last := c.MadeWaves[len(c.MadeWaves)-1]; c.MadeDeadline <= last || c.MadeDeadline > 24*time.Hour {
		return fmt.Errorf("dispatch config: made_deadline: %v is not between the last wave %v and the end of the day", c.MadeDeadline, last)
	}
	if c.MadeMaxBundle < 1 || c.MadeMaxBundle > maxMadeBundle {
		return fmt.Errorf("dispatch config: made_max_bundle: %d is outside 1..%d", c.MadeMaxBundle, maxMadeBundle)
	}
	return nil
}

// PromiseFor returns, by the service class of the section, when an order
// placed at placed at a store that prepares its goods in prepMin minutes
// leaves the store (its ready time) and the time promised at dest. The
// 1-hour circle's orders are ready after their preparation and promised
// Promise after placement. A 郑享制造 order is ready at the first
// collection wave at or after its preparation ends and promised by that
// wave's day's MadeDeadline, or a ride across the city after the wave
// (Promise without preparation nor PromiseCap: a factory outlet delivers
// to the whole service area, see Reach) when that is later. c is a
// validated Config, as Engine.Config returns it; a zero one has the
// default waves.
func (c *Config) PromiseFor(sec orders.Section, placed time.Time, prepMin float64, t geo.Travel, store, dest geo.Point) (ready, promise time.Time) {
	goods := placed.Add(time.Duration(prepMin * float64(time.Minute)))
	if sec == orders.SectionMade {
		return c.made(goods, t, store, dest)
	}
	return goods, placed.Add(Promise(t, prepMin, store, dest))
}

// Schedule sets the ready time and the promise of an order from a
// platform's stream, by PromiseFor for a store at store preparing in
// prepMin minutes. The 1-hour circle keeps the times the platform gave and
// takes PromiseFor's where it gave none. A 郑享制造 order always goes with
// a collection wave, the first at or after the later of its preparation's
// end and the ready time given, and is promised by it.
func (c *Config) Schedule(o *orders.Order, prepMin float64, t geo.Travel, store geo.Point) {
	ready, promise := c.PromiseFor(o.Section, o.PlacedAt, prepMin, t, store, o.Dropoff)
	if o.Section == orders.SectionMade {
		if o.ReadyAt.After(ready) {
			ready, promise = c.made(o.ReadyAt, t, store, o.Dropoff)
		}
		o.ReadyAt, o.PromiseAt = ready, promise
		return
	}
	if o.ReadyAt.IsZero() {
		o.ReadyAt = ready
	}
	if o.PromiseAt.IsZero() {
		o.PromiseAt = promise
	}
}

// made returns the collection wave of goods ready at goods and the promise
// of an order going with it to dest.
func (c *Config) made(goods time.Time, t geo.Travel, store, dest geo.Point) (wave, promise time.Time) {
	waves, deadline := c.MadeWaves, c.MadeDeadline
	if len(waves) == 0 {
		waves, deadline = DefaultMadeWaves(), DefaultMadeDeadline
	}
	for d := orders.DayOf(goods); ; d = d.AddDays(1) {
		for _, w := range waves {
			if wave = d.Start().Add(w); !wave.Before(goods) {
				promise = d.Start().Add(deadline)
				ride := math.Ceil(geo.PromiseMinutes(t, 0, store, dest)) + PromiseBuffer.Minutes()
				if at := wave.Add(time.Duration(ride * float64(time.Minute))); at.After(promise) {
					promise = at
				}
				return wave, promise
			}
		}
	}
}

// madeHold keeps the 郑享制造 orders waiting for their wave out of the
// rounds' pending list, so that a round pays nothing for orders hours
// before their wave: requeue puts them here, and releaseWaves moves them to
// the pending list when their ready time comes.
type madeHold struct {
	orders []*orderState
	next   float64 // the earliest ready time among orders, when any
}

func (h *madeHold) add(o *orderState) {
	if len(h.orders) == 0 || o.ready < h.next {
		h.next = o.ready
	}
	h.orders = append(h.orders, o)
}

// pending counts the held orders still waiting for a rider.
func (h *madeHold) pending() int {
	n := 0
	for _, o := range h.orders {
		if o.pending() {
			n++
		}
	}
	return n
}

// releaseWaves moves the held orders whose ready time has come to the
// pending list and forgets those that ended meanwhile.
func (e *Engine) releaseWaves(now float64) {
	h := &e.held
	if len(h.orders) == 0 || now < h.next {
		return
	}
	kept := h.orders[:0]
	h.next = math.Inf(1)
	for _, o := range h.orders {
		switch {
		case !o.pending():
			o.queued = false
		case o.ready <= now:
			e.pending = append(e.pending, o)
		default:
			kept = append(kept, o)
			h.next = math.Min(h.next, o.ready)
		}
	}
	clear(h.orders[len(kept):])
	h.orders = kept
}

// limitOf is the click-to-door time an order must not be planned past, in
// minutes, when the rounds keep to limit (MaxClickToDoor; 0: none): a
// 郑享制造 order's is its own promise.
func limitOf(o *orderState, limit float64) float64 {
	if o.made && limit > 0 {
		return o.promise - o.placed
	}
	return limit
}

// madeBundles appends to out the bundles of a factory's due orders, sorted
// by ready time: the orders of one wave (ready within BundleGap of the
// bundle's first) go together, up to MadeMaxBundle and the largest capacity
// of a rider on shift, as long as each is still delivered within its
// promise when picked up as early as possible.
func (e *Engine) madeBundles(out []*bundle, s *storeState, os []*orderState, now float64) []*bundle {
	size := min(e.cfg.MadeMaxBundle, e.largestCapacity())
	gap := e.cfg.BundleGap.Minutes()
	var cur *bundle
	for _, o := range os {
		if cur != nil && len(cur.orders) < size && o.ready-cur.orders[0].ready <= gap {
			joined := e.madeBundle(s, append(slices.Clip(cur.orders), o), now)
			if e.withinPromise(joined, now) {
				cur = joined
				out[len(out)-1] = cur
				continue
			}
		}
		cur = e.madeBundle(s, []*orderState{o}, now)
		out = append(out, cur)
	}
	return out
}

// madeBundle makes a bundle of a factory's orders, dropped off along a
// route of cheapest insertions: each order, in
// turn, goes where it lengthens the route least. A bundle of up to
// MaxBundle orders is sequenced exactly, as the 1-hour circle's are.
func (e *Engine) madeBundle(s *storeState, os []*orderState, now float64) *bundle {
	if len(os) <= e.cfg.MaxBundle {
		return e.newBundle(s, os, now)
	}
	ready := math.Inf(-1)
	route := make([]*orderState, 0, len(os))
	for _, o := range os {
		ready = math.Max(ready, o.ready)
		best, at := math.Inf(1), 0
		for i := 0; i <= len(route); i++ {
			from := s.point
			if i > 0 {
				from = route[i-1].drop
			}
			add := e.travel.TravelMinutes(from, o.drop)
			if i < len(route) {
				add += e.travel.TravelMinutes(o.drop, route[i].drop) - e.travel.TravelMinutes(from, route[i].drop)
			}
			if add < best {
				best, at = add, i
			}
		}
		route = slices.Insert(route, at, o)
	}
	ps, ds := e.travel.PickupMinutes(), e.travel.DropoffMinutes()
	offs := make([]float64, len(route))
	from, t := s.point, ps/2
	for i, o := range route {
		t += e.travel.TravelMinutes(from, o.drop)
		offs[i] = t + ds/2
		t += ds
		from = o.drop
	}
	return &bundle{store: s, orders: route, ready: ready, offs: offs}
}

// withinPromise tells whether a bundle picked up as early as possible
// delivers each of its orders by its promise.
func (e *Engine) withinPromise(b *bundle, now float64) bool {
	pickup := math.Max(b.ready, now+e.travel.PickupMinutes()/2)
	for i, o := range b.orders {
		if pickup+b.offs[i] > o.promise+1e-9 {
			return false
		}
	}
	return true
}

// largestCapacity is the most orders a rider on shift carries.
func (e *Engine) largestCapacity() int {
	n := 1
	for _, r := range e.rlist {
		if r.onShift && !r.stale {
			n = max(n, r.capacity)
		}
	}
	return n
}
