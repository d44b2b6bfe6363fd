package redis

import (
	"context"
	"os"
	"testing"

	"zhengxiang/bench/geobench"
)

// TestBaseline times a tiny workload on Redis when one runs
// (deploy/services.sh up --with redis); make test does not start it, so
// the test skips without ZX_REDIS_ADDR.
func TestBaseline(t *testing.T) {
	addr := os.Getenv(EnvAddr)
	if addr == "" {
		t.Skipf("%s unset: no Redis (deploy/services.sh up --with redis)", EnvAddr)
	}
	ctx := context.Background()
	ix, err := Open(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := ix.Close(); err != nil {
			t.Error(err)
		}
	}()
	res, err := geobench.RunBaseline(ctx, geobench.Config{Riders: 2000, Updates: 3000, Queries: 300, Seed: 3},
		geobench.BaselineConfig{Name: "redis", Updates: 500}, ix, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Updates != 500 || res.Queries != 300 || res.UpdatesPerS <= 0 || res.Nearest10QPS <= 0 {
		t.Errorf("result %+v", res)
	}
	// GEOSEARCH measures on a 52-bit geohash: a near tie may come out in
	// the other order, hardly ever a different rider.
	if res.Recall < 0.99 {
		t.Errorf("recall %v, want at least 0.99", res.Recall)
	}
}
