package postgis

import (
	"context"
	"os"
	"testing"

	"zhengxiang/bench/geobench/geobenchtest"
)

// TestBaseline times a tiny workload on PostGIS when a database with the
// extension is there (deploy/services.sh up --with postgis); make test does
// not start it, so the test skips without ZX_PG_BENCH_URL.
func TestBaseline(t *testing.T) {
	url := os.Getenv(EnvURL)
	if url == "" {
		t.Skipf("%s unset: no PostGIS (deploy/services.sh up --with postgis)", EnvURL)
	}
	ix, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	// ST_DWithin measures on the spheroid, the exact answer on a sphere:
	// riders at the very edge of 3 km may differ.
	geobenchtest.RunBaseline(t, "postgis", ix, 300, 0.99)
}
