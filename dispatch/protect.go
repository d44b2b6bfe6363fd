package dispatch

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// This file protects riders and the people they meet: a rider gets no
// offer without a valid health card of the day when the engine requires
// one, and none once its time on shift in a day reaches the working limit.
// Both are decided where a rider enters the round's indexes (eligible), so
// that a round pays nothing for them: a rider's place there is looked at
// again when the rider changes (a card, a shift) or when time alone changes
// it (midnight, the warning, the limit).

// The working time defaults of Config: a warning at 8 hours on shift in a
// day, no new offer from 12.
const (
	DefaultWorkWarn  = 8 * time.Hour
	DefaultWorkLimit = 12 * time.Hour
)

// protection is what the engine knows of a rider's card and working time.
type protection struct {
	card    orders.HealthCard // the latest card, when hasCard
	hasCard bool
	// worked is the minutes on shift on day before the rider's current
	// shift (see workedOn).
	day    orders.Day
	worked float64
	// warned and stopped are the last days the warning and the stop were
	// logged.
	warned, stopped orders.Day
}

// validateProtection fills the working time defaults and checks them.
func (c *Config) validateProtection() error {
	if c.WorkWarn == 0 {
		c.WorkWarn = DefaultWorkWarn
	}
	if c.WorkLimit == 0 {
		c.WorkLimit = DefaultWorkLimit
	}
	switch {
	case c.WorkWarn < 0 || c.WorkLimit < 0:
		return fmt.Errorf("dispatch config: work_warn %v and work_limit %v must not be negative", c.WorkWarn, c.WorkLimit)
	case c.WorkWarn > c.WorkLimit:
		return fmt.Errorf("dispatch config: work_warn %v is past work_limit %v", c.WorkWarn, c.WorkLimit)
	case c.WorkLimit > 24*time.Hour:
		return fmt.Errorf("dispatch config: work_limit %v is more than a day", c.WorkLimit)
	}
	return nil
}

// requireCards checks that an engine that requires health cards can read
// them.
func requireCards(cfg Config, repo orders.Repository) error {
	if _, ok := repo.(orders.HealthStore); cfg.RequireHealthCard && !ok {
		return fmt.Errorf("dispatch: health cards are required, and the repository keeps none")
	}
	return nil
}

// RecordHealthCard records a rider's health card of the day, as of the
// engine's clock: the temperature taken and the health code shown. The
// card replaces one recorded earlier that day; from the next round the
// rider is offered trips only while it is valid (orders.HealthCard.ValidOn),
// when the engine requires cards. A card that orders.HealthCard.Validate
// refuses is KindInvalid.
func (e *Engine) RecordHealthCard(ctx context.Context, riderID string, temperatureC float64, code orders.HealthCode) (orders.HealthCard, error) {
	now := e.clock.Now()
	c := orders.HealthCard{RiderID: riderID, Day: orders.DayOf(now), TemperatureC: temperatureC, Code: code, RecordedAt: now}
	if err := c.Validate(); err != nil {
		return orders.HealthCard{}, err
	}
	hs, ok := e.repo.(orders.HealthStore)
	if !ok {
		return orders.HealthCard{}, orders.Unavailable("the record keeps no health cards")
	}
	if err := hs.PutHealthCard(ctx, c); err != nil {
		return orders.HealthCard{}, fmt.Errorf("record the health card of %s: %w", riderID, err)
	}
	e.lock()
	defer e.unlock()
	if r := e.riders[riderID]; r != nil {
		e.giveCard(r, c)
	}
	return c, nil
}

// giveCard makes c the rider's card unless the one it has was recorded
// later.
func (e *Engine) giveCard(r *riderState, c orders.HealthCard) {
	if r.prot.hasCard && c.RecordedAt.Before(r.prot.card.RecordedAt) {
		return
	}
	// The card kept shares the rider's id and the code's constant: a city's
	// riders hold no strings of their own for their cards.
	c.RiderID = r.id
	for _, k := range [...]orders.HealthCode{orders.HealthGreen, orders.HealthYellow, orders.HealthRed} {
		if c.Code == k {
			c.Code = k
		}
	}
	r.prot.card, r.prot.hasCard = c, true
	r.cardFor = orders.Day{}
	if c.ValidOn(c.Day) {
		r.cardFor = c.Day
	}
	e.touch(r)
}

// readCards gives the riders the cards of day, the day of now, that the
// record holds, when a round finds the day changed. Riders record a new
// card every day, through this engine or through another serving the same
// record; without it a rider on shift past midnight would keep yesterday's
// card and get no offer. The engine's lock is held. On failure the next
// round tries again.
func (e *Engine) readCards(ctx context.Context, now time.Time, day orders.Day) {
	cards, err := e.cardsOfToday(ctx, now)
	if err != nil {
		e.log.Error("reading the day's health cards", "day", day, "err", err)
		return
	}
	e.cards.readWhole(day, now)
	for id, c := range cards {
		if r := e.riders[id]; r != nil {
			e.giveCard(r, c)
		}
	}
}

// cardLooks is what an engine has read of the record's health cards. It
// has a mutex of its own: a round reads the cards recorded since its last
// look before it takes the engine's lock, which is held while it gives
// them to the riders.
type cardLooks struct {
	mu   sync.Mutex
	day  orders.Day // the day whose cards were read whole (Restore, readCards)
	seen time.Time  // the engine's time up to which newer cards are read
	look time.Time  // when a round looks for newer ones
}

// readWhole notes that the cards of day recorded up to now are read.
func (c *cardLooks) readWhole(day orders.Day, now time.Time) {
	c.mu.Lock()
	c.day, c.seen, c.look = day, now, now.Add(cardsEvery)
	c.mu.Unlock()
}

// seenUpTo notes that the cards of the day recorded up to now are read,
// unless the day read whole is another or a later time is noted already.
func (c *cardLooks) seenUpTo(now time.Time) {
	c.mu.Lock()
	if c.day == orders.DayOf(now) && c.seen.Before(now) {
		c.seen = now
	}
	c.mu.Unlock()
}

// wholeDay returns the day whose cards were read whole.
func (c *cardLooks) wholeDay() orders.Day {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.day
}

// newCards reads, when a look is due at now, the cards of the day recorded
// since the last look, without the engine's lock: a rider may record its
// card through any engine serving the record, and the engine whose area
// the rider belongs to learns it here. Each look reaches cardsOverlap
// further back than the last one ended, for cards recorded on a clock a
// little behind this engine's or committed after it looked. ok is false
// when no look was due or the look failed (the next one tries again).
func (e *Engine) newCards(ctx context.Context, now time.Time) (cards []orders.HealthCard, ok bool) {
	c := &e.cards
	c.mu.Lock()
	day := orders.DayOf(now)
	if day != c.day || now.Before(c.look) {
		c.mu.Unlock()
		return nil, false
	}
	since := c.seen.Add(-cardsOverlap)
	c.look = now.Add(cardsEvery)
	c.mu.Unlock()
	cards, err := e.repo.(orders.HealthStore).HealthCardsSince(ctx, day, since)
	if err != nil {
		e.log.Error("reading the health cards recorded since the last look", "day", day, "err", err)
		return nil, false
	}
	return cards, true
}

// giveNewCards gives the riders the cards of a look at now (newCards), and
// notes them read; the engine's lock is held.
func (e *Engine) giveNewCards(cards []orders.HealthCard, now time.Time) {
	for _, c := range cards {
		r := e.riders[c.RiderID]
		if r == nil || r.prot.hasCard && sameCard(r.prot.card, c) {
			continue // not here, or read before (the looks overlap)
		}
		e.giveCard(r, c)
	}
	e.cards.seenUpTo(now)
}

// sameCard tells whether two cards are the same recording.
func sameCard(a, b orders.HealthCard) bool {
	return a.Day == b.Day && a.RecordedAt.Equal(b.RecordedAt) && a.TemperatureC == b.TemperatureC && a.Code == b.Code
}

// cardsEvery is how often, on the engine's clock, the rounds look for
// health cards recorded through other engines, and cardsOverlap how much
// further back than the last look each one reaches.
const (
	cardsEvery   = 30 * time.Second
	cardsOverlap = 10 * time.Second
)

// cardOfToday reads a rider's card of the day of now from the record, when
// the engine requires cards.
func (e *Engine) cardOfToday(ctx context.Context, riderID string, now time.Time) (orders.HealthCard, bool, error) {
	if !e.cfg.RequireHealthCard {
		return orders.HealthCard{}, false, nil
	}
	c, err := e.repo.(orders.HealthStore).HealthCard(ctx, riderID, orders.DayOf(now))
	if orders.IsKind(err, orders.KindNotFound) {
		return orders.HealthCard{}, false, nil
	}
	if err != nil {
		return orders.HealthCard{}, false, fmt.Errorf("health card: %w", err)
	}
	return c, true, nil
}

// cardsOfToday reads every rider's card of the day of now from the record,
// when the engine requires cards.
func (e *Engine) cardsOfToday(ctx context.Context, now time.Time) (map[string]orders.HealthCard, error) {
	if !e.cfg.RequireHealthCard {
		return nil, nil
	}
	list, err := e.repo.(orders.HealthStore).HealthCards(ctx, orders.DayOf(now))
	if err != nil {
		return nil, fmt.Errorf("health cards: %w", err)
	}
	out := make(map[string]orders.HealthCard, len(list))
	for _, c := range list {
		out[c.RiderID] = c
	}
	return out, nil
}

// clockIn is StartShift's part, before the rider is put on shift at
// minute m: a rider on shift already keeps the time it has worked, and the
// card read from the record is given to it.
func (e *Engine) clockIn(r *riderState, m float64, card orders.HealthCard, hasCard bool) {
	e.bank(r, m)
	if hasCard {
		e.giveCard(r, card)
	}
}

// clockOut is EndShift's part, before the rider leaves the shift at
// minute m.
func (e *Engine) clockOut(r *riderState, m float64) { e.bank(r, m) }

// bank adds the time a rider on shift has worked in the day of m up to m
// to the day's count.
func (e *Engine) bank(r *riderState, m float64) {
	if !r.onShift {
		return
	}
	day, start := e.dayOf(m)
	r.prot.worked = e.workedOn(r, day, start, m)
	r.prot.day = day
}

// dayOf returns the day of China Standard Time of minute m and the minute
// it starts at.
func (e *Engine) dayOf(m float64) (orders.Day, float64) {
	d := e.dayAt(m)
	return d.day, d.start
}

// dayMinutes is a day of China Standard Time in the engine's minutes.
type dayMinutes struct {
	day        orders.Day
	start, end float64 // its first minute and the next day's
}

// dayAt returns the day of minute m. Every rider's place in the round's
// indexes asks for it, so the last day asked is kept: a day's figures are
// worked out once, not once per rider.
func (e *Engine) dayAt(m float64) dayMinutes {
	if d := e.lastDay.Load(); d != nil && m >= d.start && m < d.end {
		return *d
	}
	day := orders.DayOf(e.at(m))
	d := &dayMinutes{day: day, start: e.min(day.Start()), end: e.min(day.AddDays(1).Start())}
	e.lastDay.Store(d)
	return *d
}

// workedOn returns the minutes the rider has been on shift on day (which
// starts at minute start) up to minute m: the shifts it ended that day and
// the one it is on, up to its end.
func (e *Engine) workedOn(r *riderState, day orders.Day, start, m float64) float64 {
	w := 0.0
	if r.prot.day == day {
		w = r.prot.worked
	}
	if r.onShift {
		w += math.Max(0, math.Min(m, r.shiftEnd)-math.Max(r.shiftStart, start))
	}
	return w
}

// eligible is available with the riders' protections on top: a rider that
// may take a trip now gets none without a valid card of the day (when the
// engine requires cards) or past the working limit of the day.
func (e *Engine) eligible(r *riderState, now float64) (p geo.Point, from float64, ok bool, until float64) {
	p, from, ok, until = e.available(r, now)
	if !ok {
		return p, from, ok, until
	}
	allowed, by := e.protect(r, now)
	if !allowed {
		return geo.Point{}, 0, false, by
	}
	return p, from, true, math.Min(until, by)
}

// protect tells whether the rider's card and working time let it take a
// trip at minute now, and until when that holds if nothing about the rider
// changes. It logs the warning and the stop once a day.
func (e *Engine) protect(r *riderState, now float64) (bool, float64) {
	d := e.dayAt(now)
	day, start, midnight := d.day, d.start, d.end
	until := math.Inf(1)
	if e.cfg.RequireHealthCard {
		if r.cardFor != day {
			return false, until // a new card changes the rider
		}
		until = midnight // the card is the day's
	}
	worked := e.workedOn(r, day, start, now)
	warn, limit := e.cfg.WorkWarn.Minutes(), e.cfg.WorkLimit.Minutes()
	if worked >= limit {
		if r.prot.stopped != day {
			r.prot.stopped = day
			e.log.Warn("rider reached the working limit of the day: no new offers", "rider", r.id,
				"worked_minutes", math.Round(worked), "limit_minutes", limit)
		}
		return false, midnight // the count starts again
	}
	if worked >= warn {
		if r.prot.warned != day {
			r.prot.warned = day
			e.log.Warn("rider past the working time warning", "rider", r.id,
				"worked_minutes", math.Round(worked), "warn_minutes", warn, "limit_minutes", limit)
		}
	} else {
		until = math.Min(until, now+warn-worked)
	}
	return true, math.Min(until, now+limit-worked)
}

// withWork adds the rider's working time of the day of now to a view.
func (e *Engine) withWork(v RiderView, r *riderState) RiderView {
	now := e.min(e.clock.Now())
	day, start := e.dayOf(now)
	w := e.workedOn(r, day, start, now)
	v.WorkingMinutes, v.WorkWarning = int(math.Round(w)), w >= e.cfg.WorkWarn.Minutes()
	v.WorkStopped = w >= e.cfg.WorkLimit.Minutes()
	return v
}
