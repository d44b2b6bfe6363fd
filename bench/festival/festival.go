// Package festival simulates a day of the 2020 "春暖郑州" shopping festival
// in Zhengzhou: stores of the three delivering sections around the city's
// hot spots, riders on shifts, and consumers ordering through the platforms
// with lunch and dinner peaks, each order going to a store whose 1-hour
// circle covers the consumer. The real dispatcher serves the day on the
// embedded default (in-memory repository) and a simulated clock; the
// result is a Summary of what the consumers got.
package festival

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"zhengxiang/bench/mdrp"
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
	switch {
	case c.Stores < 1:
		return fmt.Errorf("festival config: stores: %d must be at least 1", c.Stores)
	case c.Riders < 1:
		return fmt.Errorf("festival config: riders: %d must be at least 1", c.Riders)
	case c.OrdersPerDay < 0:
		return fmt.Errorf("festival config: orders per day: %d is negative", c.OrdersPerDay)
	case !(c.Hours > 0) || c.Hours > 7*24:
		return fmt.Errorf("festival config: hours: %v is outside (0, 168]", c.Hours)
	case !(c.StartHour >= 0) || c.StartHour >= 24:
		return fmt.Errorf("festival config: start hour: %v is outside [0, 24)", c.StartHour)
	case c.Algo != dispatch.AlgoEngine && c.Algo != dispatch.AlgoGreedy:
		return fmt.Errorf("festival config: algo: %q is not engine or greedy", c.Algo)
	}
	return nil
}

// Group is the summary of the orders of one section or one district.
type Group struct {
	Label            string  `json:"label"`
	Orders           int     `json:"orders"`
	Delivered        int     `json:"delivered"`
	Within60MinShare float64 `json:"within_60_min_share"`
}

// Summary is the outcome of a festival day. Shares are fractions of the
// delivered orders; minutes are click-to-door (drop-off minus placement)
// and ready-to-pickup (pickup minus the moment the store had the order
// ready).
type Summary struct {
	Orders      int `json:"orders"`
	Delivered   int `json:"delivered"`
	Cancelled   int `json:"cancelled"`
	Undelivered int `json:"undelivered"` // neither delivered nor cancelled when the simulation ended

	Within60MinShare     float64 `json:"within_60_min_share"`
	WithinPromiseShare   float64 `json:"within_promise_share"`
	ClickToDoorP50Min    float64 `json:"click_to_door_p50_min"`
	ClickToDoorP90Min    float64 `json:"click_to_door_p90_min"`
	ClickToDoorMeanMin   float64 `json:"click_to_door_mean_min"`
	ReadyToPickupMeanMin float64 `json:"ready_to_pickup_mean_min"`
	OrdersPerBundleMean  float64 `json:"orders_per_bundle_mean"`
	Riders               int     `json:"riders"`
	RidersOnShift        int     `json:"riders_on_shift"` // riders whose shift fell in the simulated hours
	Stores               int     `json:"stores"`
	Offers               int     `json:"offers"`
	Declined             int     `json:"declined"`
	Expired              int     `json:"expired"`
	Reassigned           int     `json:"reassigned"`
	Rounds               int     `json:"rounds"`

	BySection  map[string]Group `json:"by_section"`
	ByDistrict map[string]Group `json:"by_district"`

	Start       time.Time     `json:"start"`
	SimHours    float64       `json:"sim_hours"`
	WallSeconds float64       `json:"wall_seconds"`
	Algo        dispatch.Algo `json:"algo"`
	Seed        int64         `json:"seed"`
}

// Random streams of one seed, so that more orders do not move the stores.
const (
	streamStores uint64 = iota + 1
	streamRiders
	streamOrders
)

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15*stream))
}

// Run simulates the festival day described by cfg and summarises it.
// progress, if set, is called as simulated time passes with the minutes
// done out of the minutes to simulate (the placing hours and the Drain).
func Run(ctx context.Context, cfg Config, progress func(done, total float64)) (Summary, error) {
	wall := time.Now()
	d, err := simulate(ctx, cfg, progress)
	if err != nil {
		return Summary{}, err
	}
	sum := d.summary()
	sum.WallSeconds = round(time.Since(wall).Seconds(), 3)
	return sum, nil
}

// day is a simulated festival day: its city, its orders and what happened.
type day struct {
	cfg      Config
	area     *geo.Area
	start    time.Time
	stores   []*store
	coverage *geo.Coverage
	riders   []sim.Rider
	orders   []sim.Order
	district map[string]string // order id -> district of its drop-off
	result   sim.Result
}

// simulate builds the day of cfg and plays it through the dispatcher.
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
	d := &day{cfg: cfg, area: area, start: at(Day, from), coverage: geo.NewCoverage(), district: map[string]string{}}

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
	dm := &demand{r: orng, area: area, hs: hs, cov: d.coverage, byID: byID, travel: travel, service: ecfg, day: Day, freeLeft: map[string]int{}}
	for _, p := range platforms {
		// A tenth of the day's orders ride free, in each platform's quota.
		dm.freeLeft[p.id] = int(math.Ceil(p.share * float64(cfg.OrdersPerDay) / 10))
	}
	for i, m := range placements(orng, cfg.OrdersPerDay, from, to) {
		o, district, err := dm.order(i+1, m)
		if err != nil {
			return nil, err
		}
		d.orders = append(d.orders, o)
		d.district[o.Order.ID] = district
	}

	clock := dispatch.NewManualClock(d.start)
	eng, err := dispatch.New(ecfg, memory.NewRepository(nil), travel, clock, cfg.Logger)
	if err != nil {
		return nil, err
	}
	s := sim.New(eng, clock, travel, sim.Behaviour{
		AnswerDelay: 10 * time.Second, DeclineProb: 0.05, SilentProb: 0.02,
		MerchantDelay: time.Minute, PingEvery: 30 * time.Second, Seed: cfg.Seed,
	})
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

// summary sums up the day's orders, overall and by section and district.
func (d *day) summary() Summary {
	res := d.result
	persons := map[string]bool{}
	for _, r := range d.riders {
		persons[riderPerson(r.ID)] = true
	}
	sum := Summary{
		Orders: len(res.Orders), Riders: d.cfg.Riders, RidersOnShift: len(persons), Stores: len(d.stores),
		Offers: res.Stats.Offers, Declined: res.Stats.Declined, Expired: res.Stats.Expired,
		Reassigned: res.Stats.Reassigned, Rounds: res.Rounds,
		BySection: map[string]Group{}, ByDistrict: map[string]Group{},
		Start: d.start, SimHours: d.cfg.Hours, Algo: d.cfg.Algo, Seed: d.cfg.Seed,
	}
	for _, sec := range orders.Sections() {
		sum.BySection[string(sec)] = Group{Label: sec.Label()}
	}
	for _, dist := range d.area.Districts() {
		sum.ByDistrict[dist.Name] = Group{Label: dist.NameZH + " " + dist.Name}
	}
	section := make(map[string]string, len(d.orders))
	for _, o := range d.orders {
		section[o.Order.ID] = string(o.Order.Section)
	}
	var ctd, r2p []float64
	inPromise := 0
	in60 := map[string]int{} // by section and by district
	for _, o := range res.Orders {
		sec, dist := section[o.ID], d.district[o.ID]
		ok := o.Delivered && o.Dropoff.Sub(o.Placed) <= 60*time.Minute
		for _, g := range []struct {
			m   map[string]Group
			key string
		}{{sum.BySection, sec}, {sum.ByDistrict, dist}} {
			x := g.m[g.key]
			x.Orders++
			if o.Delivered {
				x.Delivered++
			}
			g.m[g.key] = x
		}
		switch {
		case o.Delivered:
			sum.Delivered++
			ctd = append(ctd, o.Dropoff.Sub(o.Placed).Minutes())
			r2p = append(r2p, o.Pickup.Sub(o.Ready).Minutes())
			if !o.Dropoff.After(o.Promise) {
				inPromise++
			}
			if ok {
				in60["section/"+sec]++
				in60["district/"+dist]++
				in60[""]++
			}
		case o.Cancelled:
			sum.Cancelled++
		default:
			sum.Undelivered++
		}
	}
	if n := float64(len(ctd)); n > 0 {
		sum.Within60MinShare = round(float64(in60[""])/n, 4)
		sum.WithinPromiseShare = round(float64(inPromise)/n, 4)
		sum.ClickToDoorP50Min = round(mdrp.Percentile(ctd, 0.5), 2)
		sum.ClickToDoorP90Min = round(mdrp.Percentile(ctd, 0.9), 2)
		sum.ClickToDoorMeanMin = round(mean(ctd), 2)
		sum.ReadyToPickupMeanMin = round(mean(r2p), 2)
	}
	if len(res.Trips) > 0 {
		n := 0
		for _, t := range res.Trips {
			n += len(t.OrderIDs)
		}
		sum.OrdersPerBundleMean = round(float64(n)/float64(len(res.Trips)), 2)
	}
	for prefix, gs := range map[string]map[string]Group{"section/": sum.BySection, "district/": sum.ByDistrict} {
		for k, g := range gs {
			if g.Delivered > 0 {
				g.Within60MinShare = round(float64(in60[prefix+k])/float64(g.Delivered), 4)
			}
			gs[k] = g
		}
	}
	return sum
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
