// Package redis is the Redis baseline of the rider index benchmark: the
// riders in one GEO sorted set, moved with GEOADD and searched with
// GEOSEARCH ... BYRADIUS ... ASC COUNT. It is the only importer of go-redis.
package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"zhengxiang/bench/geobench"
	"zhengxiang/geo"
)

// EnvAddr is the environment variable with the address of the Redis
// server, "host:port"; deploy/services.sh up --with redis sets it.
const EnvAddr = "ZX_REDIS_ADDR"

var _ geobench.Index = (*Index)(nil)

// Index is a GEO set of riders in Redis, under a key of its own.
type Index struct {
	rdb *goredis.Client
	key string
}

// Open connects to the Redis server at addr with one connection, as one
// client goroutine uses it, and checks that it answers. The riders go under
// a new random key, deleted by Close.
func Open(ctx context.Context, addr string) (*Index, error) {
	if addr == "" {
		return nil, fmt.Errorf("redis: no address (set %s or pass one)", EnvAddr)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: 1, MinIdleConns: 1})
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis %s: %w", addr, err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Index{rdb: rdb, key: "zxbench:riders:" + hex.EncodeToString(b[:])}, nil
}

// Load replaces the set with the riders, in pipelined batches.
func (ix *Index) Load(ctx context.Context, ids []string, pos []geo.Point) error {
	if err := ix.rdb.Del(ctx, ix.key).Err(); err != nil {
		return err
	}
	const batch = 10_000
	locs := make([]*goredis.GeoLocation, 0, batch)
	for lo := 0; lo < len(ids); lo += batch {
		locs = locs[:0]
		for i := lo; i < min(lo+batch, len(ids)); i++ {
			locs = append(locs, &goredis.GeoLocation{Name: ids[i], Longitude: pos[i].Lng, Latitude: pos[i].Lat})
		}
		if err := ix.rdb.GeoAdd(ctx, ix.key, locs...).Err(); err != nil {
			return err
		}
	}
	return nil
}

// Update moves one rider with one GEOADD.
func (ix *Index) Update(ctx context.Context, id string, p geo.Point) error {
	return ix.rdb.GeoAdd(ctx, ix.key, &goredis.GeoLocation{Name: id, Longitude: p.Lng, Latitude: p.Lat}).Err()
}

// Nearest runs GEOSEARCH key FROMLONLAT lng lat BYRADIUS r m ASC COUNT k.
func (ix *Index) Nearest(ctx context.Context, p geo.Point, k int, radiusM float64, dst []string) ([]string, error) {
	ids, err := ix.rdb.GeoSearch(ctx, ix.key, &goredis.GeoSearchQuery{
		Longitude: p.Lng, Latitude: p.Lat, Radius: radiusM, RadiusUnit: "m", Sort: "ASC", Count: k,
	}).Result()
	return append(dst[:0], ids...), err
}

// Close deletes the riders' key and closes the connection.
func (ix *Index) Close() error {
	err := ix.rdb.Del(context.Background(), ix.key).Err()
	if cerr := ix.rdb.Close(); err == nil {
		err = cerr
	}
	return err
}
