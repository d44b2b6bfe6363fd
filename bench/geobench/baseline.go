package geobench

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"zhengxiang/geo"
)

// Index is a rider index other than geo's, timed by RunBaseline on the
// workload that Run times geo.RiderIndex on: a Redis GEO set or a PostGIS
// table. Its methods are called from one goroutine.
type Index interface {
	// Load replaces the index's riders with these, untimed.
	Load(ctx context.Context, ids []string, pos []geo.Point) error
	// Update moves one rider, as one ping does: one request.
	Update(ctx context.Context, id string, p geo.Point) error
	// Nearest appends to dst[:0] the ids of up to k riders within radiusM
	// metres of p, nearest first.
	Nearest(ctx context.Context, p geo.Point, k int, radiusM float64, dst []string) ([]string, error)
}

// Defaults of BaselineConfig. A round trip to a server costs tens of
// microseconds, so a baseline times fewer operations than the index.
const (
	DefaultBaselineUpdates = 100_000
	DefaultBaselineQueries = 20_000
	// BaselineRadiusM bounds the baselines' searches: nearest 10 within 3 km.
	BaselineRadiusM = 3000
)

// BaselineConfig sets what a baseline run times. Zero fields take the
// defaults; neither count exceeds the Config's.
type BaselineConfig struct {
	// Name names the baseline in the result, like "redis".
	Name string
	// Updates is how many of the workload's first pings are timed.
	Updates int
	// Queries is how many of the workload's first query points are timed.
	Queries int
}

// BaselineResult is what RunBaseline measured.
type BaselineResult struct {
	Name         string  `json:"name"`
	Riders       int     `json:"riders"`
	Updates      int     `json:"updates"`
	UpdatesPerS  float64 `json:"updates_per_s"`
	UpdateP50Us  float64 `json:"update_p50_us"`
	UpdateP99Us  float64 `json:"update_p99_us"`
	Queries      int     `json:"queries"`
	Nearest10QPS float64 `json:"nearest10_qps"`
	QueryP50Us   float64 `json:"query_p50_us"`
	QueryP99Us   float64 `json:"query_p99_us"`
	RadiusM      float64 `json:"radius_m"`
	// Recall is the mean share of the exact answer (the nearest 10 fresh
	// riders within RadiusM, by great-circle distance) that the baseline
	// returned.
	Recall float64 `json:"recall"`
}

// RunBaseline times ix, from this goroutine, on the workload Run draws
// from cfg: it loads the riders at their first positions, times one Update
// per ping for the first b.Updates pings, then loads every rider still
// fresh at query time where the workload's pings left it (the quiet riders
// left out, as the index's staleness leaves them out), and times the first
// b.Queries nearest-10 queries within BaselineRadiusM. So the queries see
// the very riders and points the index's queries see.
func RunBaseline(ctx context.Context, cfg Config, b BaselineConfig, ix Index, progress func(done, total int)) (BaselineResult, error) {
	if err := cfg.Validate(); err != nil {
		return BaselineResult{}, err
	}
	if b.Updates < 0 || b.Queries < 0 {
		return BaselineResult{}, fmt.Errorf("geobench baseline %s: negative updates or queries", b.Name)
	}
	cfg = cfg.withDefaults()
	b.Updates = min(cmp.Or(b.Updates, DefaultBaselineUpdates), cfg.Updates)
	b.Queries = min(cmp.Or(b.Queries, DefaultBaselineQueries), cfg.Queries)

	w := newWorkload(cfg)
	report := reporter(ctx, 2*cfg.Riders+cfg.Updates+b.Queries, progress)
	if err := ix.Load(ctx, w.ids, w.pos); err != nil {
		return BaselineResult{}, fmt.Errorf("%s: load %d riders: %w", b.Name, len(w.ids), err)
	}
	if err := report(cfg.Riders); err != nil {
		return BaselineResult{}, err
	}

	// Every ping moves the workload's own index, the reference for what
	// is fresh and where; the first b.Updates also go to the baseline.
	res := BaselineResult{Name: b.Name, Riders: cfg.Riders, Updates: b.Updates, Queries: b.Queries, RadiusM: BaselineRadiusM}
	upd := make([]float64, 0, b.Updates)
	var updateTime time.Duration
	var pings []ping
	for sent := 0; sent < cfg.Updates; {
		n := min(cfg.Updates-sent, chunk)
		pings = w.pings(n, pings[:0])
		for _, pg := range pings {
			w.index.Update(w.ids[pg.rider], pg.p, pg.at)
		}
		for _, pg := range pings[:max(0, min(n, b.Updates-sent))] {
			t := time.Now()
			if err := ix.Update(ctx, w.ids[pg.rider], pg.p); err != nil {
				return BaselineResult{}, fmt.Errorf("%s: update rider %s: %w", b.Name, w.ids[pg.rider], err)
			}
			d := time.Since(t)
			updateTime += d
			upd = append(upd, float64(d.Nanoseconds())/1e3)
		}
		sent += n
		if err := report(n); err != nil {
			return BaselineResult{}, err
		}
	}
	if updateTime > 0 {
		res.UpdatesPerS = float64(len(upd)) / updateTime.Seconds()
	}
	slices.Sort(upd)
	res.UpdateP50Us, res.UpdateP99Us = percentile(upd, 0.50), percentile(upd, 0.99)

	qs, now := w.queries()
	qs = qs[:b.Queries]
	var ids []string
	var pos []geo.Point
	for _, id := range w.ids {
		if p, at, ok := w.index.Position(id); ok && !at.Before(now.Add(-cfg.StaleAfter)) {
			ids, pos = append(ids, id), append(pos, p)
		}
	}
	if err := ix.Load(ctx, ids, pos); err != nil {
		return BaselineResult{}, fmt.Errorf("%s: load %d riders where the pings left them: %w", b.Name, len(ids), err)
	}
	if err := report(cfg.Riders); err != nil {
		return BaselineResult{}, err
	}

	lat := make([]float64, len(qs))
	var got []string
	var queryTime time.Duration
	recall := 0.0
	for i, q := range qs {
		t := time.Now()
		var err error
		if got, err = ix.Nearest(ctx, q, 10, BaselineRadiusM, got); err != nil {
			return BaselineResult{}, fmt.Errorf("%s: nearest 10 to %v: %w", b.Name, q, err)
		}
		d := time.Since(t)
		queryTime += d
		lat[i] = float64(d.Nanoseconds()) / 1e3
		recall += overlap(got, exactWithin(w.index, q, now, BaselineRadiusM))
		if i%1024 == 1023 || i == len(qs)-1 {
			if err := report(i%1024 + 1); err != nil {
				return BaselineResult{}, err
			}
		}
	}
	if queryTime > 0 {
		res.Nearest10QPS = float64(len(qs)) / queryTime.Seconds()
	}
	res.Recall = 1
	if len(qs) > 0 {
		res.Recall = recall / float64(len(qs))
	}
	slices.Sort(lat)
	res.QueryP50Us, res.QueryP99Us = percentile(lat, 0.50), percentile(lat, 0.99)
	return res, nil
}

// exactWithin returns the ids of the nearest 10 fresh riders within
// radiusM of p, by brute force.
func exactWithin(ix *geo.RiderIndex[struct{}], p geo.Point, now time.Time, radiusM float64) []string {
	var out []string
	for _, nb := range ix.BruteNearest(p, 10, now, nil) {
		if nb.DistanceM <= radiusM {
			out = append(out, nb.ID)
		}
	}
	return out
}

// overlap returns the share of want found in got; 1 when want is empty
// and got is too.
func overlap(got, want []string) float64 {
	if len(want) == 0 {
		if len(got) == 0 {
			return 1
		}
		return 0
	}
	n := 0
	for _, id := range want {
		if slices.Contains(got, id) {
			n++
		}
	}
	return float64(n) / float64(len(want))
}
