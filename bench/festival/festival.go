// Package festival simulates days of the 2020 "春暖郑州" shopping festival
// in Zhengzhou, up to its whole week: stores of the three delivering
// sections around the city's hot spots, riders on shifts, and consumers
// ordering through the platforms with lunch and dinner peaks, each order
// going to a store whose 1-hour circle covers the consumer. The platforms
// ask for free deliveries of 郑享百味 within their daily quota, consumers
// choose the door, a locker, a compound's drop point or a hand-over in
// person, and the orders join the festival's campaign. The real dispatcher
// serves the days on the embedded default (in-memory repository) and a
// simulated clock; the result is a Summary of what the consumers got, read
// from the repository's orders and events.
package festival

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/dispatch/sim"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/memory"
)

// Defaults of Config.
const (
	DefaultStores    = 300
	DefaultRiders    = 1200
	DefaultHours     = 24
	DefaultStartHour = 10
	// DefaultOrdersPerRider is the day's orders per rider when
	// Config.OrdersPerDay is zero: the load the riders carry with at least
	// 95 % of orders delivered within 60 minutes (0.97 to 0.98 over a whole
	// default day for seeds 0 to 2; at 6 per rider it falls to 0.94).
	DefaultOrdersPerRider = 5.5
)

// Day is midnight of the simulated day: the first day of the festival,
// 15 March 2020, China Standard Time.
var Day = time.Date(2020, 3, 15, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

// Drain is how long the simulation goes on after the last order is placed,
// so that the orders of the last minutes can be delivered.
const Drain = 90 * time.Minute

// Config describes a festival day. The zero value of a field takes its
// default in Validate.
type Config struct {
	// Stores is the number of stores (default 300).
	Stores int
	// Riders is the number of riders over the day's shifts (default 1200).
	Riders int
	// OrdersPerDay is the number of orders a whole day brings; a run of
	// fewer hours gets the share of the day its hours carry (default
	// DefaultOrdersPerRider per rider).
	OrdersPerDay int
	// Hours is how long orders are placed, from StartHour (default 24).
	Hours float64
	// StartHour is the hour of the day the simulation starts at (default 10,
	// so that two hours cover the lunch peak). Zero takes the default; start
	// at midnight with a tiny positive value.
	StartHour float64
	// Sites is the number of smart lockers, and of drop points at
	// compounds' gates (default one of each for 10 stores, at least 5).
	Sites int
	// Seed makes the city, the orders and the people's choices repeatable.
	Seed int64
	// Algo is the dispatcher's algorithm (default engine).
	Algo dispatch.Algo
	// Logger receives the dispatcher's logs (nil: discarded).
	Logger *slog.Logger
}

// Validate fills defaults and reports a setting that makes no sense.
func (c *Config) Validate() error {
	if c.Stores == 0 {
		c.Stores = DefaultStores
	}
	if c.Riders == 0 {
		c.Riders = DefaultRiders
	}
	if c.OrdersPerDay == 0 {
		c.OrdersPerDay = int(math.Round(DefaultOrdersPerRider * float64(c.Riders)))
	}
	if c.Hours == 0 {
		c.Hours = DefaultHours
	}
	if c.StartHour == 0 {
		c.StartHour = DefaultStartHour
	}
	if c.Algo == "" {
		c.Algo = dispatch.AlgoEngine
	}
	if c.Sites == 0 {
		c.Sites = max(5, c.Stores/10)
	}
	switch {
	case c.Stores < 1:
		return fmt.Errorf("festival config: stores: %d must be at least 1", c.Stores)
	case c.Riders < 1:
		return fmt.Errorf("festival config: riders: %d must be at least 1", c.Riders)
	case c.OrdersPerDay < 0:
		return fmt.Errorf("festival config: orders per day: %d is negative", c.OrdersPerDay)
	case !(c.Hours > 0) || c.Hours > FestivalDays*24:
		return fmt.Errorf("festival config: hours: %v is outside (0, %d]", c.Hours, FestivalDays*24)
	case c.Sites < 0:
		return fmt.Errorf("festival config: sites: %d is negative", c.Sites)
	case !(c.StartHour >= 0) || c.StartHour >= 24:
		return fmt.Errorf("festival config: start hour: %v is outside [0, 24)", c.StartHour)
	case c.Algo != dispatch.AlgoEngine && c.Algo != dispatch.AlgoGreedy:
		return fmt.Errorf("festival config: algo: %q is not engine or greedy", c.Algo)
	}
	return nil
}

// Random streams of one seed, so that more orders do not move the stores.
const (
	streamStores uint64 = iota + 1
	streamRiders
	streamOrders
	streamSites
)

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15*stream))
}

// Run simulates the festival days described by cfg and summarises them.
// progress, if set, is called as simulated time passes with the minutes
// done out of the minutes to simulate (the placing hours and the Drain).
func Run(ctx context.Context, cfg Config, progress func(done, total float64)) (Summary, error) {
	wall := time.Now()
	d, err := simulate(ctx, cfg, progress)
	if err != nil {
		return Summary{}, err
	}
	sum, err := d.summary(ctx)
	if err != nil {
		return Summary{}, err
	}
	sum.WallSeconds = round(time.Since(wall).Seconds(), 3)
	return sum, nil
}

// day is a simulated run of festival days: its city, its orders and what
// happened, in the record (repo, quota) and as the simulation saw it.
type day struct {
	cfg        Config
	area       *geo.Area
	start, end time.Time
	stores     []*store
	sites      []orders.DropSite
	coverage   *geo.Coverage
	riders     []sim.Rider
	orders     []sim.Order
	result     sim.Result
	repo       *memory.Repository
	intake     *intake
}

// simulate builds the days of cfg and plays them through the dispatcher.
func simulate(ctx context.Context, cfg Config, progress func(done, total float64)) (*day, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	area := geo.Zhengzhou()
	travel := geo.DefaultRoadModel()
	hs := HotSpots(area)
	if len(hs) == 0 {
		return nil, fmt.Errorf("festival: no hot spot lies in the service area")
	}
	from := cfg.StartHour * 60
	to := from + cfg.Hours*60
	end := to + Drain.Minutes()
	d := &day{cfg: cfg, area: area, start: at(Day, from), end: at(Day, end), coverage: geo.NewCoverage(), repo: memory.NewRepository(nil)}

	d.stores = placeStores(newRand(cfg.Seed, streamStores), area, hs, cfg.Stores)
	byID := make(map[string]*store, len(d.stores))
	for _, s := range d.stores {
		byID[s.ID] = s
		d.coverage.Add(geo.CircleOf(s.ID, s.Point, s.PrepMinutes, dispatch.PromiseCap.Minutes(), travel, area))
	}
	d.riders = riderShifts(newRand(cfg.Seed, streamRiders), area, d.stores, cfg.Riders, Day, from, end)

	ecfg := dispatch.Config{Algo: cfg.Algo, RoundEvery: 15 * time.Second, Reassign: true}
	if err := ecfg.Validate(); err != nil {
		return nil, fmt.Errorf("festival: %w", err)
	}
	orng := newRand(cfg.Seed, streamOrders)
	d.sites = placeSites(newRand(cfg.Seed, streamSites), area, hs, cfg.Sites, d.start)
	dm := &demand{r: orng, area: area, hs: hs, cov: d.coverage, byID: byID, travel: travel, service: ecfg, day: Day, sites: d.sites}
	for i, m := range placements(orng, cfg.OrdersPerDay, from, to) {
		o, _, err := dm.order(i+1, m)
		if err != nil {
			return nil, err
		}
		d.orders = append(d.orders, o)
	}

	clock := dispatch.NewManualClock(d.start)
	eng, err := dispatch.New(ecfg, d.repo, travel, clock, cfg.Logger)
	if err != nil {
		return nil, err
	}
	d.intake = &intake{eng: eng, repo: d.repo, travel: travel, clock: clock}
	first := orders.DayOf(Day)
	if err := d.intake.open(ctx, d.sites, first, first.AddDays(FestivalDays-1),
		orders.DayOf(d.start), orders.DayOf(d.end), cfg.OrdersPerDay); err != nil {
		return nil, fmt.Errorf("festival: %w", err)
	}
	s := sim.New(eng, clock, travel, sim.Behaviour{
		AnswerDelay: 10 * time.Second, DeclineProb: 0.05, SilentProb: 0.02,
		MerchantDelay: time.Minute, PingEvery: 30 * time.Second, Seed: cfg.Seed,
	})
	s.SetPlatform(sim.Platform{Place: d.intake.place, Collect: d.intake.collect, CollectAfter: collectAfter})
	for _, st := range d.stores {
		if err := s.AddStore(ctx, st.Store); err != nil {
			return nil, fmt.Errorf("festival: %w", err)
		}
	}
	for _, r := range d.riders {
		s.AddRider(r)
	}
	for _, o := range d.orders {
		s.AddOrder(o)
	}

	total := end - from
	var report func(time.Time)
	if progress != nil {
		report = func(now time.Time) { progress(math.Min(total, now.Sub(d.start).Minutes()), total) }
	}
	if d.result, err = s.Run(ctx, at(Day, end), report); err != nil {
		return nil, fmt.Errorf("festival: %w", err)
	}
	if progress != nil {
		progress(total, total)
	}
	return d, nil
}

// riderPerson returns the rider of a shift id ("R0001#2" → "R0001").
func riderPerson(id string) string {
	if i := strings.IndexByte(id, '#'); i >= 0 {
		return id[:i]
	}
	return id
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func round(v float64, dec int) float64 {
	p := math.Pow(10, float64(dec))
	return math.Round(v*p) / p
}
