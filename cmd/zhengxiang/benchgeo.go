package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"zhengxiang/bench/geobench"
)

type benchGeoCmd struct {
	cfg  geobench.Config
	json bool
}

func newBenchGeoCmd(fs *flag.FlagSet) *benchGeoCmd {
	c := &benchGeoCmd{}
	fs.IntVar(&c.cfg.Riders, "riders", geobench.DefaultRiders, "riders in the index")
	fs.IntVar(&c.cfg.Queries, "queries", geobench.DefaultQueries, "nearest-10 queries to time")
	fs.IntVar(&c.cfg.Updates, "updates", geobench.DefaultUpdates, "position pings to time")
	fs.Int64Var(&c.cfg.Seed, "seed", 0, "random `seed` of the riders and queries")
	fs.BoolVar(&c.json, "json", false, "print the result as one JSON object")
	return c
}

func (c *benchGeoCmd) setup(args []string) error {
	if len(args) > 0 {
		return usagef("bench geo: unexpected argument %q", args[0])
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"riders", c.cfg.Riders}, {"queries", c.cfg.Queries}, {"updates", c.cfg.Updates}} {
		if f.v < 1 {
			return usagef("bench geo: --%s: %d must be at least 1", f.name, f.v)
		}
	}
	return nil
}

func (c *benchGeoCmd) run(ctx context.Context, m *Main) error {
	b := newBar(m.Stderr, "bench geo", "")
	res, err := geobench.Run(ctx, c.cfg, func(done, total int) { b.set(float64(done), float64(total)) })
	b.finish()
	if err != nil {
		return fmt.Errorf("bench geo: %w", err)
	}
	if c.json {
		line, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(m.Stdout, "%s\n", line)
		return err
	}
	_, err = fmt.Fprintf(m.Stdout, "riders          %d\nupdates_per_s   %.0f\nnearest10_qps   %.0f\nrecall          %.4f\nquery p50 / p99 %.1f / %.1f µs\n",
		res.Riders, res.UpdatesPerS, res.Nearest10QPS, res.Recall, res.QueryP50Us, res.QueryP99Us)
	return err
}
