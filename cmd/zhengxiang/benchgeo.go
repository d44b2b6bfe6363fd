package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"zhengxiang/bench/geobench"
	"zhengxiang/bench/geobench/postgis"
	"zhengxiang/bench/geobench/redis"
)

// The baselines of bench geo --baseline.
const (
	baselineRedis   = "redis"
	baselinePostGIS = "postgis"
)

type benchGeoCmd struct {
	cfg       geobench.Config
	json      bool
	baselines []string
	base      geobench.BaselineConfig
	redisAddr string
	postgis   string
}

func newBenchGeoCmd(fs *flag.FlagSet) *benchGeoCmd {
	c := &benchGeoCmd{}
	fs.IntVar(&c.cfg.Riders, "riders", geobench.DefaultRiders, "riders in the index")
	fs.IntVar(&c.cfg.Queries, "queries", geobench.DefaultQueries, "nearest-10 queries to time")
	fs.IntVar(&c.cfg.Updates, "updates", geobench.DefaultUpdates, "position pings to time")
	fs.Int64Var(&c.cfg.Seed, "seed", 0, "random `seed` of the riders and queries")
	fs.BoolVar(&c.json, "json", false, "print the result as one JSON object")
	fs.Func("baseline", "also time `redis` or postgis (or both, comma-separated) on the same riders and queries, nearest 10 within 3 km, from one client",
		func(s string) error {
			for b := range strings.SplitSeq(s, ",") {
				switch b = strings.TrimSpace(b); b {
				case baselineRedis, baselinePostGIS:
					if !slices.Contains(c.baselines, b) {
						c.baselines = append(c.baselines, b)
					}
				default:
					return fmt.Errorf("%q is not a baseline: want redis or postgis", b)
				}
			}
			return nil
		})
	fs.IntVar(&c.base.Updates, "baseline-updates", geobench.DefaultBaselineUpdates, "pings a baseline times, one request each (the first of --updates)")
	fs.IntVar(&c.base.Queries, "baseline-queries", geobench.DefaultBaselineQueries, "queries a baseline times (the first of --queries)")
	fs.StringVar(&c.redisAddr, "redis", os.Getenv(redis.EnvAddr), "Redis `address` of --baseline redis (env "+redis.EnvAddr+")")
	fs.StringVar(&c.postgis, "postgis", os.Getenv(postgis.EnvURL), "PostgreSQL `url` of a database with PostGIS, for --baseline postgis (env "+postgis.EnvURL+")")
	return c
}

func (c *benchGeoCmd) setup(args []string) error {
	if len(args) > 0 {
		return usagef("bench geo: unexpected argument %q", args[0])
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"riders", c.cfg.Riders}, {"queries", c.cfg.Queries}, {"updates", c.cfg.Updates},
		{"baseline-updates", c.base.Updates}, {"baseline-queries", c.base.Queries}} {
		if f.v < 1 {
			return usagef("bench geo: --%s: %d must be at least 1", f.name, f.v)
		}
	}
	for _, b := range c.baselines {
		switch {
		case b == baselineRedis && c.redisAddr == "":
			return usagef("bench geo: --baseline redis needs --redis or %s (deploy/services.sh up --with redis writes it to .services.env)", redis.EnvAddr)
		case b == baselinePostGIS && c.postgis == "":
			return usagef("bench geo: --baseline postgis needs --postgis or %s (deploy/services.sh up --with postgis writes it to .services.env)", postgis.EnvURL)
		}
	}
	return nil
}

// baselineIndex is a baseline opened for a run.
type baselineIndex interface {
	geobench.Index
	io.Closer
}

func (c *benchGeoCmd) open(ctx context.Context, name string) (baselineIndex, error) {
	if name == baselineRedis {
		return redis.Open(ctx, c.redisAddr)
	}
	return postgis.Open(ctx, c.postgis)
}

func (c *benchGeoCmd) run(ctx context.Context, m *Main) error {
	b := newBar(m.Stderr, "bench geo", "")
	res, err := geobench.Run(ctx, c.cfg, func(done, total int) { b.set(float64(done), float64(total)) })
	b.finish()
	if err != nil {
		return fmt.Errorf("bench geo: %w", err)
	}
	for _, name := range c.baselines {
		ix, err := c.open(ctx, name)
		if err != nil {
			return fmt.Errorf("bench geo: --baseline %s: %w", name, err)
		}
		bb := newBar(m.Stderr, "bench geo "+name, "")
		cfg := c.base
		cfg.Name = name
		r, err := geobench.RunBaseline(ctx, c.cfg, cfg, ix, func(done, total int) { bb.set(float64(done), float64(total)) })
		bb.finish()
		if cerr := ix.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close: %w", cerr)
		}
		if err != nil {
			return fmt.Errorf("bench geo: --baseline %s: %w", name, err)
		}
		res.Baselines = append(res.Baselines, r)
	}
	if c.json {
		line, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(m.Stdout, "%s\n", line)
		return err
	}
	if len(res.Baselines) == 0 {
		_, err = fmt.Fprintf(m.Stdout, "riders          %d\nupdates_per_s   %.0f\nnearest10_qps   %.0f\nrecall          %.4f\nquery p50 / p99 %.1f / %.1f µs\n",
			res.Riders, res.UpdatesPerS, res.Nearest10QPS, res.Recall, res.QueryP50Us, res.QueryP99Us)
		return err
	}
	return printGeoTable(m.Stdout, res)
}

// printGeoTable prints the index and its baselines side by side.
func printGeoTable(w io.Writer, res geobench.Result) error {
	var sb strings.Builder
	row := func(label string, index string, each func(geobench.BaselineResult) string) {
		fmt.Fprintf(&sb, "%-22s %14s", label, index)
		for _, b := range res.Baselines {
			fmt.Fprintf(&sb, " %14s", each(b))
		}
		sb.WriteByte('\n')
	}
	row("", "index", func(b geobench.BaselineResult) string { return b.Name })
	row("riders", fmt.Sprint(res.Riders), func(b geobench.BaselineResult) string { return fmt.Sprint(b.Riders) })
	row("updates timed", "all", func(b geobench.BaselineResult) string { return fmt.Sprint(b.Updates) })
	row("updates_per_s", fmt.Sprintf("%.0f", res.UpdatesPerS), func(b geobench.BaselineResult) string { return fmt.Sprintf("%.0f", b.UpdatesPerS) })
	row("update p50 / p99 µs", "-", func(b geobench.BaselineResult) string {
		return fmt.Sprintf("%.0f / %.0f", b.UpdateP50Us, b.UpdateP99Us)
	})
	row("queries timed", "all", func(b geobench.BaselineResult) string { return fmt.Sprint(b.Queries) })
	row("nearest10_qps", fmt.Sprintf("%.0f", res.Nearest10QPS), func(b geobench.BaselineResult) string { return fmt.Sprintf("%.0f", b.Nearest10QPS) })
	row("query p50 / p99 µs", fmt.Sprintf("%.1f / %.1f", res.QueryP50Us, res.QueryP99Us), func(b geobench.BaselineResult) string {
		return fmt.Sprintf("%.0f / %.0f", b.QueryP50Us, b.QueryP99Us)
	})
	row("radius", "none", func(b geobench.BaselineResult) string { return fmt.Sprintf("%.0f m", b.RadiusM) })
	row("recall", fmt.Sprintf("%.4f", res.Recall), func(b geobench.BaselineResult) string { return fmt.Sprintf("%.4f", b.Recall) })
	_, err := io.WriteString(w, sb.String())
	return err
}
