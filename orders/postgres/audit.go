package postgres

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"zhengxiang/orders"
)

var (
	_ orders.SuspensionStore = (*Repository)(nil)
	_ orders.AckStore        = (*Repository)(nil)
)

// The suspensions, their audit and the missed acknowledgements (tables suspensions,
// suspension_audit and missed_acks, migration 00011). A suspension or a restore is one
// transaction that locks the store's row, changes the stop in force (and the store's suspended
// flag for a store-wide stop) and appends the audit entry.
const (
	lockStore       = `SELECT suspended FROM stores WHERE id = $1 FOR UPDATE`
	insertAudit     = `INSERT INTO suspension_audit (action, store_id, sku, actor, reason, at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`
	upsertSuspended = `INSERT INTO suspensions (store_id, sku, actor, reason, at, audit_id) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (store_id, sku) DO UPDATE SET actor = $3, reason = $4, at = $5, audit_id = $6`
	deleteSuspended = `DELETE FROM suspensions WHERE store_id = $1 AND sku = $2`
	flagStore       = `UPDATE stores SET suspended = $2 WHERE id = $1`
	// noteCancelled appends the ids of $2 that the entry does not list yet, in their order.
	noteCancelled = `UPDATE suspension_audit SET cancelled = cancelled ||
		ARRAY(SELECT x FROM unnest($2::text[]) WITH ORDINALITY AS u (x, n) WHERE x <> ALL (cancelled) ORDER BY n)
		WHERE id = $1`
	selectSuspended = `SELECT store_id, sku, actor, reason, at, audit_id FROM suspensions ORDER BY store_id, sku`
	selectAudit     = `SELECT id, action, store_id, sku, actor, reason, at, cancelled FROM suspension_audit
		WHERE $1 = '' OR store_id = $1 ORDER BY id DESC LIMIT $2`
	insertMissed = `INSERT INTO missed_acks (order_id, store_id, at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) ON CONFLICT DO NOTHING`
	countMissed = `SELECT store_id, count(*) FROM missed_acks WHERE at >= $1 GROUP BY store_id`
)

// Suspend puts s in force and appends its audit entry; see orders.SuspensionStore.
func (r *Repository) Suspend(ctx context.Context, s orders.Suspension) (orders.AuditEntry, error) {
	if err := s.Validate(); err != nil {
		return orders.AuditEntry{}, err
	}
	e := orders.AuditEntry{Action: orders.AuditSuspend, Suspension: s}
	e.AuditID = 0
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var suspended bool
		if err := tx.QueryRow(ctx, lockStore, s.StoreID).Scan(&suspended); errors.Is(err, pgx.ErrNoRows) {
			return orders.NotFound("store", s.StoreID)
		} else if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, insertAudit, string(e.Action), s.StoreID, s.SKU, s.Actor, s.Reason, ts(s.At)).Scan(&e.ID); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(upsertSuspended, s.StoreID, s.SKU, s.Actor, s.Reason, ts(s.At), e.ID)
		if s.SKU == "" {
			b.Queue(flagStore, s.StoreID, true)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return orders.AuditEntry{}, translate(err, "suspend %s", s.What())
	}
	return e, nil
}

// Lift ends the stop s names and appends its audit entry; see orders.SuspensionStore.
func (r *Repository) Lift(ctx context.Context, s orders.Suspension) (orders.AuditEntry, error) {
	if err := s.Validate(); err != nil {
		return orders.AuditEntry{}, err
	}
	e := orders.AuditEntry{Action: orders.AuditRestore, Suspension: s}
	e.AuditID = 0
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var suspended bool
		if err := tx.QueryRow(ctx, lockStore, s.StoreID).Scan(&suspended); errors.Is(err, pgx.ErrNoRows) {
			return orders.NotFound("store", s.StoreID)
		} else if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, deleteSuspended, s.StoreID, s.SKU)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 && !(s.SKU == "" && suspended) {
			return orders.Conflict("%s is not suspended", s.What())
		}
		if s.SKU == "" {
			if _, err := tx.Exec(ctx, flagStore, s.StoreID, false); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, insertAudit, string(e.Action), s.StoreID, s.SKU, s.Actor, s.Reason, ts(s.At)).Scan(&e.ID)
	})
	if err != nil {
		return orders.AuditEntry{}, translate(err, "restore %s", s.What())
	}
	return e, nil
}

// NoteCancelled adds orders to an audit entry's cancelled ones.
func (r *Repository) NoteCancelled(ctx context.Context, entryID int64, orderIDs []string) error {
	var ids []string
	for _, id := range orderIDs {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	tag, err := r.pool.Exec(ctx, noteCancelled, entryID, ids)
	if err != nil {
		return translate(err, "note the orders cancelled by suspension #%d", entryID)
	}
	if tag.RowsAffected() == 0 {
		return orders.NotFound("audit entry", "#"+strconv.FormatInt(entryID, 10))
	}
	return nil
}

// Suspensions returns the stops in force, by store and SKU.
func (r *Repository) Suspensions(ctx context.Context) ([]orders.Suspension, error) {
	rows, _ := r.pool.Query(ctx, selectSuspended)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (orders.Suspension, error) {
		var s orders.Suspension
		err := row.Scan(&s.StoreID, &s.SKU, &s.Actor, &s.Reason, &s.At, &s.AuditID)
		return s, err
	})
	return out, translate(err, "list suspensions")
}

// Audit returns the audit entries that match f, newest first.
func (r *Repository) Audit(ctx context.Context, f orders.AuditFilter) ([]orders.AuditEntry, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	rows, _ := r.pool.Query(ctx, selectAudit, f.StoreID, f.Limit)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (orders.AuditEntry, error) {
		var e orders.AuditEntry
		var action string
		err := row.Scan(&e.ID, &action, &e.StoreID, &e.SKU, &e.Actor, &e.Reason, &e.At, &e.Cancelled)
		e.Action = orders.AuditAction(action)
		if len(e.Cancelled) == 0 {
			e.Cancelled = nil
		}
		return e, err
	})
	return out, translate(err, "list the suspensions' audit")
}

// RecordMissedAcks records tickets not acknowledged in time, once per order.
func (r *Repository) RecordMissedAcks(ctx context.Context, ms []orders.MissedAck) error {
	if len(ms) == 0 {
		return nil
	}
	ids, stores, at := make([]string, len(ms)), make([]string, len(ms)), make([]time.Time, len(ms))
	for i, m := range ms {
		ids[i], stores[i], at[i] = m.OrderID, m.StoreID, m.At.Truncate(time.Microsecond)
	}
	_, err := r.pool.Exec(ctx, insertMissed, ids, stores, at)
	return translate(err, "record %d missed acknowledgements", len(ms))
}

// MissedAcks counts each store's misses at or after since.
func (r *Repository) MissedAcks(ctx context.Context, since time.Time) (map[string]int, error) {
	rows, _ := r.pool.Query(ctx, countMissed, since)
	out := map[string]int{}
	var store string
	var n int
	_, err := pgx.ForEachRow(rows, []any{&store, &n}, func() error {
		out[store] = n
		return nil
	})
	if err != nil {
		return nil, translate(err, "count missed acknowledgements")
	}
	return out, nil
}
