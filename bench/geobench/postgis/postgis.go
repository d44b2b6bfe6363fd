// Package postgis is the PostGIS baseline of the rider index benchmark: the
// riders in a table with a geography column under a GiST index, moved with
// one UPDATE per ping and searched by KNN (ORDER BY geom <-> point LIMIT k)
// within a radius (ST_DWithin). The SQL of the baseline lives here, apart
// from the system of record's (orders/postgres).
package postgis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/jackc/pgx/v5"

	"zhengxiang/bench/geobench"
	"zhengxiang/geo"
)

// EnvURL is the environment variable with the URL of a PostgreSQL database
// that has the postgis extension; deploy/services.sh up --with postgis sets
// it.
const EnvURL = "ZX_PG_BENCH_URL"

var _ geobench.Index = (*Index)(nil)

// Index is a table of riders in a schema of its own, dropped by Close.
type Index struct {
	conn   *pgx.Conn
	schema string
}

// point is the geography of ($lng, $lat) in WGS 84.
const point = `ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326)::geography`

// Open connects to the database at url with one connection, as one client
// goroutine uses it, and creates a schema with the riders table and its
// GiST index.
func Open(ctx context.Context, url string) (*Index, error) {
	if url == "" {
		return nil, fmt.Errorf("postgis: no database URL (set %s or pass one)", EnvURL)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("postgis: connect: %w", err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	ix := &Index{conn: conn, schema: "zxgeo_" + hex.EncodeToString(b[:])}
	var have bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis')`).Scan(&have); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("postgis: %w", err)
	}
	if !have {
		conn.Close(ctx)
		return nil, fmt.Errorf("postgis: the database has no postgis extension (deploy/services.sh up --with postgis)")
	}
	s := pgx.Identifier{ix.schema}.Sanitize()
	for _, q := range []string{
		`CREATE SCHEMA ` + s,
		`CREATE TABLE ` + s + `.riders (id text PRIMARY KEY, geom geography(Point, 4326) NOT NULL)`,
		`CREATE INDEX riders_geom ON ` + s + `.riders USING gist (geom)`,
		`CREATE UNLOGGED TABLE ` + s + `.load (id text, lng float8, lat float8)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			ix.Close()
			return nil, fmt.Errorf("postgis: %s: %w", q, err)
		}
	}
	return ix, nil
}

func (ix *Index) table(name string) string { return pgx.Identifier{ix.schema, name}.Sanitize() }

// Load replaces the riders: COPY into a loading table, then one INSERT.
func (ix *Index) Load(ctx context.Context, ids []string, pos []geo.Point) error {
	return pgx.BeginFunc(ctx, ix.conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `TRUNCATE `+ix.table("riders")+`, `+ix.table("load")); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{ix.schema, "load"}, []string{"id", "lng", "lat"},
			pgx.CopyFromSlice(len(ids), func(i int) ([]any, error) { return []any{ids[i], pos[i].Lng, pos[i].Lat}, nil }))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+ix.table("riders")+` (id, geom)
			SELECT id, ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography FROM `+ix.table("load")); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `ANALYZE `+ix.table("riders"))
		return err
	})
}

// Update moves one rider with one UPDATE, committed on its own.
func (ix *Index) Update(ctx context.Context, id string, p geo.Point) error {
	tag, err := ix.conn.Exec(ctx, `UPDATE `+ix.table("riders")+` SET geom = `+point+` WHERE id = $3`, p.Lng, p.Lat, id)
	if err == nil && tag.RowsAffected() != 1 {
		err = fmt.Errorf("no rider %s", id)
	}
	return err
}

// Nearest selects the k riders nearest p within radiusM by the GiST
// index's KNN order.
func (ix *Index) Nearest(ctx context.Context, p geo.Point, k int, radiusM float64, dst []string) ([]string, error) {
	rows, _ := ix.conn.Query(ctx, `SELECT id FROM `+ix.table("riders")+`
		WHERE ST_DWithin(geom, `+point+`, $3) ORDER BY geom <-> `+point+` LIMIT $4`, p.Lng, p.Lat, radiusM, k)
	dst = dst[:0]
	var id string
	_, err := pgx.ForEachRow(rows, []any{&id}, func() error {
		dst = append(dst, id)
		return nil
	})
	return dst, err
}

// Close drops the schema and closes the connection.
func (ix *Index) Close() error {
	ctx := context.Background()
	_, err := ix.conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{ix.schema}.Sanitize()+` CASCADE`)
	if cerr := ix.conn.Close(ctx); err == nil {
		err = cerr
	}
	return err
}
