// Package geobench measures the live rider index of package geo on a
// simulated Zhengzhou: riders spread over the five urban districts with
// crowds at the busiest places, moving and pinging, and dispatch queries for
// the ten nearest riders.
package geobench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"zhengxiang/geo"
)

// Config sets the size of a run. Zero fields take the defaults.
type Config struct {
	// Riders is the number of riders; default 100,000.
	Riders int
	// Queries is the number of nearest-10 queries timed; default 200,000.
	Queries int
	// Updates is the number of position pings timed; default 2,000,000.
	Updates int
	// Seed makes the run reproducible.
	Seed int64
	// StaleAfter is the index's staleness window; default
	// geo.DefaultStaleAfter.
	StaleAfter time.Duration
}

// Result is what a run measured.
type Result struct {
	Riders       int     `json:"riders"`
	UpdatesPerS  float64 `json:"updates_per_s"`
	Nearest10QPS float64 `json:"nearest10_qps"`
	// Recall is the fraction of the checked queries (at least 2,000, or all
	// of them when fewer) whose answer equals the brute-force answer.
	Recall     float64 `json:"recall"`
	QueryP50Us float64 `json:"query_p50_us"`
	QueryP99Us float64 `json:"query_p99_us"`
	// Baselines are other indexes timed on the same workload
	// (RunBaseline); Run leaves it empty.
	Baselines []BaselineResult `json:"baselines,omitempty"`
}

// Defaults of Config.
const (
	DefaultRiders  = 100_000
	DefaultQueries = 200_000
	DefaultUpdates = 2_000_000
)

// recallSample is how many queries are checked against brute force.
const recallSample = 2000

// Validate reports a negative count or staleness window.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"Riders", c.Riders}, {"Queries", c.Queries}, {"Updates", c.Updates}} {
		if f.v < 0 {
			return fmt.Errorf("geobench config: %s: %d is negative", f.name, f.v)
		}
	}
	if c.StaleAfter < 0 {
		return fmt.Errorf("geobench config: StaleAfter: %v is negative", c.StaleAfter)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Riders == 0 {
		c.Riders = DefaultRiders
	}
	if c.Queries == 0 {
		c.Queries = DefaultQueries
	}
	if c.Updates == 0 {
		c.Updates = DefaultUpdates
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = geo.DefaultStaleAfter
	}
	return c
}

// hotSpot is a crowd of riders and orders around a busy place.
type hotSpot struct {
	name   string
	at     geo.Point
	sigmaM float64
	share  float64 // of riders and of queries
}

// hotSpots are Zhengzhou's busiest delivery places; the rest of the riders
// and queries spread uniformly over the area.
var hotSpots = []hotSpot{
	{"Erqi Square", geo.Point{Lat: 34.7566, Lng: 113.6683}, 1500, 0.15},
	{"Zhengdong CBD", geo.Point{Lat: 34.7685, Lng: 113.7270}, 2000, 0.15},
	{"High-tech zone", geo.Point{Lat: 34.8080, Lng: 113.5530}, 2000, 0.10},
	{"Zhengzhou Railway Station", geo.Point{Lat: 34.7459, Lng: 113.6580}, 1000, 0.10},
}

// place draws a point: near a hot spot with its share, else uniform.
func place(r *rand.Rand, area *geo.Area) geo.Point {
	u := r.Float64()
	for _, h := range hotSpots {
		if u < h.share {
			return area.RandomPointNear(r, h.at, h.sigmaM)
		}
		u -= h.share
	}
	return area.RandomPoint(r)
}

// Run simulates riders over geo.Zhengzhou() and measures, in this
// goroutine: position updates per second (riders moving 20 to 100 m per
// ping), nearest-10 queries per second with their latency percentiles, and
// the recall of those queries against brute force. progress, when not nil,
// is called as the run advances. Run stops early with ctx's error.
func Run(ctx context.Context, cfg Config, progress func(done, total int)) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	cfg = cfg.withDefaults()
	w := newWorkload(cfg)
	ix := w.index

	sample := min(cfg.Queries, recallSample)
	report := reporter(ctx, cfg.Riders+cfg.Updates+cfg.Queries+sample, progress)
	if err := report(cfg.Riders); err != nil {
		return Result{}, err
	}

	var pings []ping
	var updateTime time.Duration
	for left := cfg.Updates; left > 0; {
		n := min(left, chunk)
		pings = w.pings(n, pings[:0])
		start := time.Now()
		for _, pg := range pings {
			ix.Update(w.ids[pg.rider], pg.p, pg.at)
		}
		updateTime += time.Since(start)
		left -= n
		if err := report(n); err != nil {
			return Result{}, err
		}
	}
	qs, now := w.queries()

	lat := make([]float64, len(qs))
	var dst []geo.Neighbor[struct{}]
	var queryTime time.Duration
	for lo := 0; lo < len(qs); lo += chunk {
		hi := min(lo+chunk, len(qs))
		start := time.Now()
		for i := lo; i < hi; i++ {
			t := time.Now()
			dst = ix.Nearest(qs[i], 10, now, nil, dst)
			lat[i] = float64(time.Since(t).Nanoseconds()) / 1e3
		}
		queryTime += time.Since(start)
		if err := report(hi - lo); err != nil {
			return Result{}, err
		}
	}

	// Recall on an evenly spread sample of the timed queries.
	good := 0
	for j := range sample {
		p := qs[j*len(qs)/sample]
		dst = ix.Nearest(p, 10, now, nil, dst)
		if slices.Equal(dst, ix.BruteNearest(p, 10, now, nil)) {
			good++
		}
		if j%256 == 255 || j == sample-1 {
			if err := report(j%256 + 1); err != nil {
				return Result{}, err
			}
		}
	}

	res := Result{Riders: cfg.Riders, Recall: 1}
	if sample > 0 {
		res.Recall = float64(good) / float64(sample)
	}
	if updateTime > 0 {
		res.UpdatesPerS = float64(cfg.Updates) / updateTime.Seconds()
	}
	if queryTime > 0 {
		res.Nearest10QPS = float64(cfg.Queries) / queryTime.Seconds()
	}
	slices.Sort(lat)
	res.QueryP50Us, res.QueryP99Us = percentile(lat, 0.50), percentile(lat, 0.99)
	return res, nil
}

// chunk is how many pings or queries are drawn, then timed, at a time.
const chunk = 1 << 16

// ping is one position report of the workload.
type ping struct {
	rider int
	p     geo.Point
	at    time.Time
}

// workload is the simulated city of a run, drawn from the seed in one
// sequence (riders, then pings, then queries) so that every index timed on
// the same Config sees the same riders, moves and query points. Its index
// holds the riders as the pings leave them.
type workload struct {
	cfg    Config
	area   *geo.Area
	r      *rand.Rand
	index  *geo.RiderIndex[struct{}]
	ids    []string
	pos    []geo.Point
	clock  time.Time // the time of the last ping
	active int       // riders 0 to active-1 ping; the others go quiet
	tick   time.Duration
}

// newWorkload signs the riders in, at their first positions, in the
// workload's index. One in twenty then goes quiet and turns stale, so
// queries must skip them.
func newWorkload(cfg Config) *workload {
	w := &workload{
		cfg:   cfg,
		area:  geo.Zhengzhou(),
		r:     rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7a68656e67)),
		index: geo.NewRiderIndex[struct{}](geo.IndexConfig{StaleAfter: cfg.StaleAfter}),
		ids:   make([]string, cfg.Riders),
		pos:   make([]geo.Point, cfg.Riders),
		clock: time.Date(2025, 6, 1, 11, 30, 0, 0, time.FixedZone("CST", 8*3600)),
	}
	for i := range w.ids {
		w.ids[i] = fmt.Sprintf("rider-%06d", i)
		w.pos[i] = place(w.r, w.area)
		w.index.Update(w.ids[i], w.pos[i], w.clock)
	}
	w.active = max(1, cfg.Riders-cfg.Riders/20)
	// Each active rider pings about every 10 seconds of simulated time.
	w.tick = 10 * time.Second / time.Duration(w.active)
	return w
}

// pings appends the next n pings to dst and moves the riders, but not the
// workload's index: the caller times its own updates.
func (w *workload) pings(n int, dst []ping) []ping {
	for range n {
		i := w.r.IntN(w.active)
		w.clock = w.clock.Add(w.tick)
		w.pos[i] = step(w.r, w.area, w.pos[i])
		dst = append(dst, ping{i, w.pos[i], w.clock})
	}
	return dst
}

// queries draws the query points, order addresses crowded where the
// riders are, and the time they are asked at: late enough after the last
// ping that the quiet riders are stale even in short runs. It comes after
// every ping.
func (w *workload) queries() ([]geo.Point, time.Time) {
	qs := make([]geo.Point, w.cfg.Queries)
	for i := range qs {
		qs[i] = place(w.r, w.area)
	}
	return qs, w.clock.Add(w.cfg.StaleAfter / 2)
}

// step moves a rider 20 to 100 m in a random direction, turning back at
// the edge of the area.
func step(r *rand.Rand, area *geo.Area, p geo.Point) geo.Point {
	d, dir := 20+80*r.Float64(), 2*math.Pi*r.Float64()
	pl := geo.Plane{Origin: p}
	x, y := d*math.Cos(dir), d*math.Sin(dir)
	if q := pl.ToPoint(x, y); area.Contains(q) {
		return q
	}
	if q := pl.ToPoint(-x, -y); area.Contains(q) {
		return q
	}
	return p
}

// percentile returns the q-quantile of sorted values (nearest rank).
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// reporter returns a function that counts n more steps done of total, tells
// progress (when set) and returns ctx's error, so that a long run stops when
// asked.
func reporter(ctx context.Context, total int, progress func(done, total int)) func(n int) error {
	done := 0
	return func(n int) error {
		done += n
		if progress != nil {
			progress(done, total)
		}
		return ctx.Err()
	}
}
