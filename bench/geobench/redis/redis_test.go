package redis

import (
	"context"
	"os"
	"testing"

	"zhengxiang/bench/geobench/geobenchtest"
)

// TestBaseline times a tiny workload on Redis when one runs
// (deploy/services.sh up --with redis); make test does not start it, so
// the test skips without ZX_REDIS_ADDR.
func TestBaseline(t *testing.T) {
	addr := os.Getenv(EnvAddr)
	if addr == "" {
		t.Skipf("%s unset: no Redis (deploy/services.sh up --with redis)", EnvAddr)
	}
	ix, err := Open(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	// GEOSEARCH measures on a 52-bit geohash: a near tie may come out in
	// the other order, hardly ever a different rider.
	geobenchtest.RunBaseline(t, "redis", ix, 500, 0.99)
}
