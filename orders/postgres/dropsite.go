package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"zhengxiang/orders"
)

var _ orders.DropSiteStore = (*Repository)(nil)

// The drop sites and the lockers' slots (tables drop_sites and drop_site_slots, migration 00015).
//
// A reservation is one transaction: the order's row in drop_site_slots is inserted (an order
// holding a slot already keeps it), then one statement counts it on the locker, UPDATE ... SET reserved = reserved + 1
// WHERE reserved < slots. The locker row's lock makes the reservations of a locker wait for
// each other, each re-reading reserved once it holds the lock, so that no more than its slots
// are held under READ COMMITTED whatever the number at once; when none is free the transaction
// is rolled back, the order's row with it.
const (
	siteColumns    = `id, kind, name, compound, gate_lat, gate_lng, slots, reserved, created_at, closed_at`
	insertDropSite = `INSERT INTO drop_sites (` + siteColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, NULL)`
	selectDropSite = `SELECT ` + siteColumns + ` FROM drop_sites WHERE id = $1`
	selectSites    = `SELECT ` + siteColumns + ` FROM drop_sites ORDER BY id`
	closeDropSite  = `UPDATE drop_sites SET closed_at = coalesce(closed_at, $2) WHERE id = $1 RETURNING ` + siteColumns
	// holdSlot records the order's slot: no row when the order holds one already.
	holdSlot = `INSERT INTO drop_site_slots (order_id, site_id) VALUES ($2, $1)
		ON CONFLICT (order_id) DO NOTHING RETURNING order_id`
	takeSlot   = `UPDATE drop_sites SET reserved = reserved + 1 WHERE id = $1 AND kind = 'LOCKER' AND reserved < slots`
	siteKindOf = `SELECT kind FROM drop_sites WHERE id = $1`
	// releaseSlots frees the slots the orders ($1) hold, the lockers locked in id order so that
	// two releases cannot deadlock.
	releaseSlots = `WITH freed AS (
		DELETE FROM drop_site_slots WHERE order_id = ANY($1::text[]) RETURNING site_id
	), n AS (
		SELECT site_id, count(*) AS n FROM freed GROUP BY site_id
	), locked AS (
		SELECT s.id FROM drop_sites s JOIN n ON s.id = n.site_id ORDER BY s.id FOR UPDATE OF s
	)
	UPDATE drop_sites s SET reserved = s.reserved - n.n FROM n, locked WHERE s.id = n.site_id AND locked.id = s.id`
)

// errNoSlot rolls back a reservation that found its locker full.
var errNoSlot = errors.New("no free slot")

// CreateDropSite registers a site.
func (r *Repository) CreateDropSite(ctx context.Context, s orders.DropSite) error {
	if err := s.Validate(); err != nil {
		return err
	}
	_, err := r.pool.Exec(ctx, insertDropSite, s.ID, string(s.Kind), s.Name, s.Compound, s.Gate.Lat, s.Gate.Lng, s.Slots, ts(s.CreatedAt))
	if err != nil {
		err = translate(err, "register drop site %s", s.ID)
		if orders.IsKind(err, orders.KindConflict) {
			return orders.Conflict("drop site %s exists", s.ID)
		}
	}
	return err
}

// DropSite returns the site, or a KindNotFound error.
func (r *Repository) DropSite(ctx context.Context, id string) (orders.DropSite, error) {
	rows, _ := r.pool.Query(ctx, selectDropSite, id)
	s, err := pgx.CollectExactlyOneRow(rows, scanDropSite)
	if errors.Is(err, pgx.ErrNoRows) {
		return orders.DropSite{}, orders.NotFound("drop site", id)
	}
	return s, translate(err, "get drop site %s", id)
}

// DropSites returns every site, ordered by ID.
func (r *Repository) DropSites(ctx context.Context) ([]orders.DropSite, error) {
	rows, _ := r.pool.Query(ctx, selectSites)
	out, err := pgx.CollectRows(rows, scanDropSite)
	return out, translate(err, "list drop sites")
}

// CloseDropSite closes the site.
func (r *Repository) CloseDropSite(ctx context.Context, id string, at time.Time) (orders.DropSite, error) {
	rows, _ := r.pool.Query(ctx, closeDropSite, id, ts(at))
	s, err := pgx.CollectExactlyOneRow(rows, scanDropSite)
	if errors.Is(err, pgx.ErrNoRows) {
		return orders.DropSite{}, orders.NotFound("drop site", id)
	}
	return s, translate(err, "close drop site %s", id)
}

// ReserveSlot holds a slot of the locker for the order when one is free.
func (r *Repository) ReserveSlot(ctx context.Context, siteID, orderID string) (bool, error) {
	if orderID == "" {
		return false, orders.Invalid("order_id", "required")
	}
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var kind string
		if err := tx.QueryRow(ctx, siteKindOf, siteID).Scan(&kind); errors.Is(err, pgx.ErrNoRows) {
			return orders.NotFound("drop site", siteID)
		} else if err != nil {
			return err
		}
		if kind != string(orders.HandoverLocker) {
			return orders.Invalid("dropoff_site_id", "site %s is a %s, not a locker", siteID, kind)
		}
		var id string
		err := tx.QueryRow(ctx, holdSlot, siteID, orderID).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // held already
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, takeSlot, siteID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errNoSlot
		}
		return nil
	})
	if errors.Is(err, errNoSlot) {
		return false, nil
	}
	if err != nil {
		return false, translate(err, "reserve a slot of %s for order %s", siteID, orderID)
	}
	return true, nil
}

// ReleaseSlot frees the order's slot, if any.
func (r *Repository) ReleaseSlot(ctx context.Context, orderID string) error {
	_, err := r.pool.Exec(ctx, releaseSlots, []string{orderID})
	return translate(err, "release the slot of order %s", orderID)
}

func scanDropSite(row pgx.CollectableRow) (orders.DropSite, error) {
	var s orders.DropSite
	var kind string
	var created, closed pgtype.Timestamptz
	err := row.Scan(&s.ID, &kind, &s.Name, &s.Compound, &s.Gate.Lat, &s.Gate.Lng, &s.Slots, &s.Reserved, &created, &closed)
	s.Kind, s.CreatedAt, s.ClosedAt = orders.Handover(kind), timeOf(created), timeOf(closed)
	s.Closed = closed.Valid
	return s, err
}

// HasOrderKey reports whether an order of the key is stored.
func (r *Repository) HasOrderKey(ctx context.Context, platform, platformOrderID string) (bool, error) {
	var ok bool
	err := r.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM orders WHERE platform = $1 AND platform_order_id = $2)`,
		platform, platformOrderID).Scan(&ok)
	if err != nil {
		return false, translate(err, "look up order %s/%s", platform, platformOrderID)
	}
	return ok, nil
}
