package postgis

import (
	"context"
	"os"
	"testing"

	"zhengxiang/bench/geobench"
)

// TestBaseline times a tiny workload on PostGIS when a database with the
// extension is there (deploy/services.sh up --with postgis); make test does
// not start it, so the test skips without ZX_PG_BENCH_URL.
func TestBaseline(t *testing.T) {
	url := os.Getenv(EnvURL)
	if url == "" {
		t.Skipf("%s unset: no PostGIS (deploy/services.sh up --with postgis)", EnvURL)
	}
	ctx := context.Background()
	ix, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := ix.Close(); err != nil {
			t.Error(err)
		}
	}()
	res, err := geobench.RunBaseline(ctx, geobench.Config{Riders: 2000, Updates: 3000, Queries: 300, Seed: 3},
		geobench.BaselineConfig{Name: "postgis", Updates: 300}, ix, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Updates != 300 || res.Queries != 300 || res.UpdatesPerS <= 0 || res.Nearest10QPS <= 0 {
		t.Errorf("result %+v", res)
	}
	// ST_DWithin measures on the spheroid, the exact answer on a sphere:
	// riders at the very edge of 3 km may differ.
	if res.Recall < 0.99 {
		t.Errorf("recall %v, want at least 0.99", res.Recall)
	}
}
