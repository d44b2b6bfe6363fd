package dispatch

import (
	"fmt"
	"time"
)

// Algo selects how a round matches orders to riders.
type Algo string

const (
	// AlgoEngine bundles orders of a store, weighs lateness, travel and
	// waiting, and solves a min-cost matching of bundles to riders, holding
	// back an assignment while the rider would only wait at the store.
	AlgoEngine Algo = "engine"
	// AlgoGreedy gives each pending order, oldest first, to the nearest idle
	// rider at once. It is the baseline the engine is measured against.
	AlgoGreedy Algo = "greedy"
)

// Config tunes the dispatcher. The zero value of any field takes its default
// in Validate.
type Config struct {
	Algo Algo
	// RoundEvery is the time between two dispatch rounds.
	RoundEvery time.Duration
	// OfferTimeout is how long a rider has to answer an offer.
	OfferTimeout time.Duration
	// MaxBundle caps the orders of one store carried on one trip.
	MaxBundle int
	// Candidates is how many riders are priced for each bundle.
	Candidates int
	// Horizon is how far ahead a round looks: bundles ready within it are
	// matched, and riders finishing their trip within it may take the next.
	Horizon time.Duration
	// CommitSlack holds back an assignment while its rider would wait longer
	// than this at the store: a later round may find a better use for both.
	CommitSlack time.Duration
	// LatenessWeight is the extra cost of each minute past an order's promise,
	// on top of the minute itself.
	LatenessWeight float64
	// WaitWeight is the cost of a minute a rider waits at the store.
	WaitWeight float64
	// TravelWeight is the cost of a minute a rider rides to the store empty.
	TravelWeight float64
	// DeferMinutes is what leaving a bundle for a later round is assumed to
	// add to each of its orders; it decides who is served first when riders
	// are short.
	DeferMinutes float64
	// BundleGap is the largest difference of ready times within a bundle.
	BundleGap time.Duration
	// BundleDelay is the most a bundle may delay an order it already holds
	// when riders are plentiful.
	BundleDelay time.Duration
	// ShortageStretch caps how far a shortage of free riders stretches
	// BundleDelay: with twice as many due orders as free riders it doubles,
	// up to this factor.
	ShortageStretch float64
	// MaxClickToDoor, when set, is a hard limit: no order is planned to
	// arrive later, and an order that can no longer make it is cancelled.
	MaxClickToDoor time.Duration
	// ChainDepth is how many accepted trips a rider may have and still be
	// offered the next one, starting where the last one ends (顺路: the
	// rider rides on from its last drop-off). A negative value offers trips
	// to free riders only.
	ChainDepth int
	// Reassign moves an assigned order to a clearly better rider before
	// pickup. Replays of the MDRP rules keep it off.
	Reassign bool
	// ReassignGain is how much earlier the new rider must reach the store.
	ReassignGain time.Duration
	// StaleAfter drops a rider from matching when its last ping is older.
	StaleAfter time.Duration
	// DefaultCapacity applies to riders registered without a capacity.
	DefaultCapacity int
	// AckTimeout, when set, is how long a store has to accept or reject a
	// ticket: an order it has not answered by then is auto-cancelled (reason
	// NoResponse) and its rider released (see ack.go). Zero leaves tickets
	// unanswered for ever, as the MDRP replays and the festival simulation
	// do; serve and demo set it (--ack-timeout, 10 minutes).
	AckTimeout time.Duration
	// AckMisses and AckWindow flag to operators a store that missed
	// AckMisses tickets within AckWindow (defaults 3 and 24 hours).
	AckMisses int
	AckWindow time.Duration
	// RoundOrders caps the due orders one round matches, oldest first; the
	// rest wait for the next round. A round then takes about as long, and
	// writes as many offers, however far the pending orders have piled up
	// at a peak, and the rounds that follow it come soon.
	RoundOrders int
	// RequireHealthCard offers trips only to riders with a valid health
	// card of the day (orders.HealthCard.ValidOn); the repository must be an
	// orders.HealthStore. The MDRP replays and the benchmarks, whose riders
	// keep no cards, leave it off; serve and demo turn it on.
	RequireHealthCard bool
	// WorkWarn and WorkLimit bound a rider's time on shift in a day of China
	// Standard Time, across its shifts: past WorkWarn the engine warns (a log
	// line, RiderView.WorkWarning), from WorkLimit it offers the rider
	// nothing more that day. Zero: DefaultWorkWarn, DefaultWorkLimit.
	WorkWarn, WorkLimit time.Duration
	// MadeWaves, MadeDeadline and MadeMaxBundle are the service class of
	// 郑享制造 (factory goods, orders.SectionMade), delivered the same day
	// by same-city logistics outside the 1-hour promise (see made.go).
	// MadeWaves are the factories' collection waves, as times of day of
	// China Standard Time, earliest first (default 10:00, 13:00, 16:00 and
	// 19:00): an order goes with the first wave its goods are ready for,
	// and no rider is offered it before that wave. MadeDeadline is the
	// time of day by which the orders of a day's waves are promised at the
	// door (default 21:00), never less than a ride after their wave; an
	// order too late for the last wave goes with the next day's first.
	// MadeMaxBundle caps the orders of one factory on one trip (default 8,
	// at most 16), within the largest capacity of the riders on shift.
	MadeWaves     []time.Duration
	MadeDeadline  time.Duration
	MadeMaxBundle int
}

// Validate fills defaults and reports a setting that makes no sense.
func (c *Config) Validate() error {
	if c.Algo == "" {
		c.Algo = AlgoEngine
	}
	if c.Algo != AlgoEngine && c.Algo != AlgoGreedy {
		return fmt.Errorf("dispatch config: algo: %q is not engine or greedy", c.Algo)
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	setDur(&c.RoundEvery, 10*time.Second)
	setDur(&c.OfferTimeout, 45*time.Second)
	setDur(&c.Horizon, 30*time.Minute)
	setDur(&c.CommitSlack, 2*time.Minute)
	setDur(&c.BundleGap, 12*time.Minute)
	setDur(&c.BundleDelay, 3*time.Minute)
	setDur(&c.ReassignGain, 5*time.Minute)
	setDur(&c.StaleAfter, 2*time.Minute)
	setDur(&c.AckWindow, 24*time.Hour)
	if c.AckMisses == 0 {
		c.AckMisses = 3
	}
	if c.AckTimeout < 0 || c.AckWindow < 0 || c.AckMisses < 0 {
		return fmt.Errorf("dispatch config: ack_timeout %v, ack_window %v and ack_misses %d must not be negative", c.AckTimeout, c.AckWindow, c.AckMisses)
	}
	if c.MaxBundle == 0 {
		c.MaxBundle = 3
	}
	if c.Candidates == 0 {
		c.Candidates = 10
	}
	if c.LatenessWeight == 0 {
		c.LatenessWeight = 1
	}
	if c.WaitWeight == 0 {
		c.WaitWeight = 0.2
	}
	if c.TravelWeight == 0 {
		c.TravelWeight = 0.2
	}
	if c.DeferMinutes == 0 {
		c.DeferMinutes = 40
	}
	if c.ShortageStretch == 0 {
		c.ShortageStretch = 10
	}
	if c.ChainDepth == 0 {
		c.ChainDepth = 1
	}
	if c.DefaultCapacity == 0 {
		c.DefaultCapacity = 4
	}
	if c.RoundOrders == 0 {
		c.RoundOrders = 2000
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"round_every", c.RoundEvery}, {"offer_timeout", c.OfferTimeout}, {"horizon", c.Horizon},
		{"commit_slack", c.CommitSlack}, {"bundle_gap", c.BundleGap}, {"bundle_delay", c.BundleDelay},
		{"reassign_gain", c.ReassignGain}, {"stale_after", c.StaleAfter}, {"max_click_to_door", c.MaxClickToDoor}} {
		if d.v < 0 {
			return fmt.Errorf("dispatch config: %s: %v is negative", d.name, d.v)
		}
	}
	if c.ChainDepth > 4 {
		return fmt.Errorf("dispatch config: chain_depth: %d is more than 4", c.ChainDepth)
	}
	if c.MaxBundle < 1 || c.MaxBundle > 8 {
		return fmt.Errorf("dispatch config: max_bundle: %d is outside 1..8", c.MaxBundle)
	}
	if c.Candidates < 1 {
		return fmt.Errorf("dispatch config: candidates: %d must be at least 1", c.Candidates)
	}
	if c.RoundOrders < 1 {
		return fmt.Errorf("dispatch config: round_orders: %d must be at least 1", c.RoundOrders)
	}
	if c.DefaultCapacity < 1 {
		return fmt.Errorf("dispatch config: default_capacity: %d must be at least 1", c.DefaultCapacity)
	}
	for _, w := range []struct {
		name string
		v    float64
	}{{"lateness_weight", c.LatenessWeight}, {"wait_weight", c.WaitWeight}, {"travel_weight", c.TravelWeight}, {"defer_minutes", c.DeferMinutes}, {"shortage_stretch", c.ShortageStretch}} {
		if w.v < 0 || w.v != w.v {
			return fmt.Errorf("dispatch config: %s: %v must be a non-negative number", w.name, w.v)
		}
	}
	if err := c.validateProtection(); err != nil {
		return err
	}
	return c.validateMade()
}
