package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"zhengxiang/orders"
)

// migrations are the schema's numbered goose files, applied in order by Migrate.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrateLock is the first key of the advisory lock Migrate holds; the second is a hash of the
// schema migrated, so that migrations of different schemas do not wait for each other.
const migrateLock int32 = 0x7a78_6d67 // "zxmg"

// Migrate brings the schema that url's search_path names first (public by default) to the
// newest migration. It holds a Postgres advisory lock while it works, so that several processes
// starting at once migrate one after the other and the later ones find nothing to do.
func Migrate(ctx context.Context, url string) error {
	pcfg, err := pgxpool.ParseConfig(url) // drops the pool_* settings a server would refuse
	if err != nil {
		return orders.Invalid("postgres url", "%s", redact(err))
	}
	cfg := pcfg.ConnConfig
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, dir, goose.WithSessionLocker(advisoryLocker{}))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return translate(err, "migrate database %s/%s", cfg.Host, cfg.Database)
	}
	return nil
}

// advisoryLocker is a goose session locker that waits in pg_advisory_lock for the lock rather
// than polling for it, so that a second migration starts as soon as the first is done.
type advisoryLocker struct{}

var _ lock.SessionLocker = advisoryLocker{}

const schemaKey = "hashtext(coalesce(current_schema(), ''))"

func (advisoryLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, "+schemaKey+")", migrateLock)
	return err
}

func (advisoryLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1, "+schemaKey+")", migrateLock)
	return err
}
