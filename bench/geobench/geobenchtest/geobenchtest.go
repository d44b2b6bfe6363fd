// Package geobenchtest holds the check that every baseline of the rider
// index benchmark passes: a tiny workload that must run and answer right.
package geobenchtest

import (
	"context"
	"testing"

	"zhengxiang/bench/geobench"
)

// ClosingIndex is a baseline index with its connection.
type ClosingIndex interface {
	geobench.Index
	Close() error
}

// RunBaseline times a tiny workload of 2,000 riders, the given number of
// pings and 300 queries on ix, closes it, and fails tb unless every ping
// and query ran and recall is at least minRecall.
func RunBaseline(tb testing.TB, name string, ix ClosingIndex, updates int, minRecall float64) {
	tb.Helper()
	defer func() {
		if err := ix.Close(); err != nil {
			tb.Error(err)
		}
	}()
	res, err := geobench.RunBaseline(context.Background(), geobench.Config{Riders: 2000, Updates: 3000, Queries: 300, Seed: 3},
		geobench.BaselineConfig{Name: name, Updates: updates}, ix, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if res.Updates != updates || res.Queries != 300 || res.UpdatesPerS <= 0 || res.Nearest10QPS <= 0 {
		tb.Errorf("%s: result %+v", name, res)
	}
	if res.Recall < minRecall {
		tb.Errorf("%s: recall %v, want at least %v", name, res.Recall, minRecall)
	}
}
