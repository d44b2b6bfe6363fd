package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"zhengxiang/orders"
)

// PostgresStore is a Store in the api_keys table of the record's database (migration 00006 of
// orders/postgres, applied by postgres.Migrate). Its errors are domain errors; no pgx type
// leaves it.
type PostgresStore struct {
	pool *pgxpool.Pool
}

// NewPostgresStore returns the store on pool, whose schema postgres.Migrate has brought up to
// date.
func NewPostgresStore(pool *pgxpool.Pool) *PostgresStore { return &PostgresStore{pool: pool} }

const keyColumns = `key_id, hash, role, platform, stores, rider, name, rate_per_s, burst, created_at, revoked_at`

// Put adds k.
func (s *PostgresStore) Put(ctx context.Context, k StoredKey) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("put API key: %w", err)
	}
	p := k.Principal
	stores := p.Stores
	if stores == nil {
		stores = []string{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (`+keyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		k.KeyID, k.Hash, string(p.Role), p.Platform, stores, p.Rider, p.Name, k.RatePerSecond, k.Burst,
		k.CreatedAt, nullTime(k.RevokedAt))
	return pgError(err, "put API key %s", k.KeyID)
}

// Get returns the key with the id.
func (s *PostgresStore) Get(ctx context.Context, id string) (StoredKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE key_id = $1`, id)
	if err != nil {
		return StoredKey{}, pgError(err, "get API key %s", id)
	}
	k, err := pgx.CollectExactlyOneRow(rows, scanKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return StoredKey{}, orders.NotFound("API key", id)
	}
	return k, pgError(err, "get API key %s", id)
}

// List returns every key, oldest first.
func (s *PostgresStore) List(ctx context.Context) ([]StoredKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys ORDER BY created_at, key_id`)
	if err != nil {
		return nil, pgError(err, "list API keys")
	}
	ks, err := pgx.CollectRows(rows, scanKey)
	if err != nil {
		return nil, pgError(err, "list API keys")
	}
	return ks, nil
}

// Revoke marks the key with the id revoked now, by the database's clock.
func (s *PostgresStore) Revoke(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, date_trunc('microseconds', now()))
		WHERE key_id = $1`, id)
	if err != nil {
		return pgError(err, "revoke API key %s", id)
	}
	if tag.RowsAffected() == 0 {
		return orders.NotFound("API key", id)
	}
	return nil
}

func scanKey(row pgx.CollectableRow) (StoredKey, error) {
	var k StoredKey
	var role string
	var revoked *time.Time
	p := &k.Principal
	if err := row.Scan(&k.KeyID, &k.Hash, &role, &p.Platform, &p.Stores, &p.Rider, &p.Name,
		&k.RatePerSecond, &k.Burst, &k.CreatedAt, &revoked); err != nil {
		return StoredKey{}, err
	}
	p.Role = Role(role)
	if revoked != nil {
		k.RevokedAt = *revoked
	}
	return normal(k), nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// pgError turns an error of pgx or of the server into a domain error that starts with what was
// being done. It is the part of orders/postgres's translation a key store meets: a taken id is
// orders.KindConflict, a broken row orders.KindInvalid, a server that cannot serve or cannot be
// reached orders.KindUnavailable; any other error of the server is a fault (no kind). A
// cancelled or expired context stays recognisable with errors.Is.
func pgError(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, ctxErr(err))
	}
	pe, ok := errors.AsType[*pgconn.PgError](err)
	if !ok { // the way to the server: refused, broken, timed out, a closed pool
		return &orders.Error{Kind: orders.KindUnavailable, Msg: what + ": the database is unreachable", Err: errors.New(err.Error())}
	}
	cause := fmt.Errorf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	var kind orders.Kind
	switch c := pe.Code; {
	case c == "23505":
		kind = orders.KindConflict
	case strings.HasPrefix(c, "22"), strings.HasPrefix(c, "23"):
		kind = orders.KindInvalid
	case strings.HasPrefix(c, "08"), strings.HasPrefix(c, "53"), strings.HasPrefix(c, "57"), c == "25006":
		kind = orders.KindUnavailable
	}
	return &orders.Error{Kind: kind, Msg: what, Err: cause}
}

// ctxErr returns the context error in err's chain, as a plain value.
func ctxErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return context.Canceled
}
