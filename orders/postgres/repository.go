package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"zhengxiang/orders"
)

var (
	_ orders.Repository   = (*Repository)(nil)
	_ orders.BatchUpdater = (*Repository)(nil)
)

// Repository is the orders.Repository in PostgreSQL.
//
// UpdateOrder locks the order's row (SELECT ... FOR UPDATE) for the length of one transaction,
// so that concurrent changes of one order wait for each other instead of failing; changes of
// different orders do not meet. Statements are prepared once per connection (pgx's statement
// cache) and the writes of a change travel to the server as one batch.
type Repository struct {
	pool *pgxpool.Pool
}

// New returns the repository on pool. The pool's connections must reach a migrated schema
// (Migrate), first in their search_path.
func New(pool *pgxpool.Pool) *Repository { return &Repository{pool: pool} }

const (
	upsertStore = `INSERT INTO stores (` + storeColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET name = $2, district = $3, section = $4, lat = $5, lng = $6,
			prep_minutes = $7, suspended = $8`
	selectStore  = `SELECT ` + storeColumns + ` FROM stores WHERE id = $1`
	selectStores = `SELECT ` + storeColumns + ` FROM stores ORDER BY id`

	upsertRider = `INSERT INTO riders (` + riderColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET name = $2, capacity = $3, shift_start = $4, shift_end = $5,
			lat = $6, lng = $7, last_ping = $8, on_shift = $9`
	selectRider  = `SELECT ` + riderColumns + ` FROM riders WHERE id = $1`
	selectRiders = `SELECT ` + riderColumns + ` FROM riders ORDER BY id`

	selectOrder          = `SELECT ` + orderColumns + ` FROM orders WHERE id = $1`
	selectOrderForUpdate = selectOrder + ` FOR UPDATE`
	// selectOrdersForUpdate locks many orders, in id order so that batches cannot deadlock.
	selectOrdersForUpdate = `SELECT ` + orderColumns + ` FROM orders WHERE id = ANY($1) ORDER BY id FOR UPDATE`
	selectOrderByKey      = `SELECT ` + orderColumns + ` FROM orders WHERE platform = $1 AND platform_order_id = $2`
	selectKey             = `SELECT platform, platform_order_id FROM orders WHERE id = $1`
	selectEvents          = `SELECT ` + eventColumns + ` FROM order_events WHERE order_id = $1 ORDER BY seq`

	// insertEvent writes one event and its outbox row.
	insertEvent = `WITH e AS (
			INSERT INTO order_events (` + eventColumns + `)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		)
		INSERT INTO outbox (order_id, seq, event) VALUES ($1, $2, $12)`

	openAssignment  = `INSERT INTO assignments (order_id, rider_id, assigned_at) VALUES ($1, $2, $3)`
	closeAssignment = `UPDATE assignments SET released_at = $2, reason = $3
		WHERE order_id = $1 AND released_at IS NULL`
	insertDelivery = `INSERT INTO deliveries
		(order_id, rider_id, outcome, picked_up_at, delivered_at, failed_at, handover, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
)

// insertOrder writes a new order with its creation event and outbox row in one statement, or
// nothing when the id or the key is taken; it reports the outbox rows written (1 or 0).
var insertOrder = `WITH o AS (
		INSERT INTO orders (` + orderColumns + `) VALUES (` + params(1, numOrderColumns) + `)
		ON CONFLICT DO NOTHING
		RETURNING id
	), e AS (
		INSERT INTO order_events (` + eventColumns + `)
		SELECT o.id, $31::bigint, $32::text, $33::timestamptz, $34::text, $35::text, $36::text,
			$37::text, $38::text, $39::text, $40::timestamptz
		FROM o
	)
	INSERT INTO outbox (order_id, seq, event) SELECT o.id, $31::bigint, $41::jsonb FROM o`

// updateOrder writes every column but the identity ($1 to $3) of an order read at seq $31.
var updateOrder = func() string {
	cols := strings.Split(orderColumns, ",")
	var set []string
	for i, c := range cols {
		c = strings.TrimSpace(c)
		switch c {
		case "id", "platform", "platform_order_id":
			continue
		}
		set = append(set, c+" = $"+strconv.Itoa(i+1))
	}
	return `UPDATE orders SET ` + strings.Join(set, ", ") +
		` WHERE id = $1 AND platform = $2 AND platform_order_id = $3 AND seq = $` + strconv.Itoa(numOrderColumns+1)
}()

// params returns "$from, ..., $to".
func params(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		if i > from {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i))
	}
	return b.String()
}

// PutStore creates or replaces a store.
func (r *Repository) PutStore(ctx context.Context, s orders.Store) error {
	if err := s.Validate(); err != nil {
		return err
	}
	_, err := r.pool.Exec(ctx, upsertStore, s.ID, s.Name, s.District, string(s.Section), s.Point.Lat, s.Point.Lng,
		s.PrepMinutes, s.Suspended)
	return translate(err, "put store %s", s.ID)
}

// GetStore returns the store, or a KindNotFound error.
func (r *Repository) GetStore(ctx context.Context, id string) (orders.Store, error) {
	rows, _ := r.pool.Query(ctx, selectStore, id)
	s, err := pgx.CollectExactlyOneRow(rows, scanStore)
	if errors.Is(err, pgx.ErrNoRows) {
		return orders.Store{}, orders.NotFound("store", id)
	}
	return s, translate(err, "get store %s", id)
}

// ListStores returns every store, ordered by ID.
func (r *Repository) ListStores(ctx context.Context) ([]orders.Store, error) {
	rows, _ := r.pool.Query(ctx, selectStores)
	out, err := pgx.CollectRows(rows, scanStore)
	return out, translate(err, "list stores")
}

// PutRider creates or replaces a rider.
func (r *Repository) PutRider(ctx context.Context, rd orders.Rider) error {
	if err := rd.Validate(); err != nil {
		return err
	}
	_, err := r.pool.Exec(ctx, upsertRider, rd.ID, rd.Name, rd.Capacity, ts(rd.ShiftStart), ts(rd.ShiftEnd),
		rd.Point.Lat, rd.Point.Lng, ts(rd.LastPing), rd.OnShift)
	return translate(err, "put rider %s", rd.ID)
}

// GetRider returns the rider, or a KindNotFound error.
func (r *Repository) GetRider(ctx context.Context, id string) (orders.Rider, error) {
	rows, _ := r.pool.Query(ctx, selectRider, id)
	rd, err := pgx.CollectExactlyOneRow(rows, scanRider)
	if errors.Is(err, pgx.ErrNoRows) {
		return orders.Rider{}, orders.NotFound("rider", id)
	}
	return rd, translate(err, "get rider %s", id)
}

// ListRiders returns every rider, ordered by ID.
func (r *Repository) ListRiders(ctx context.Context) ([]orders.Rider, error) {
	rows, _ := r.pool.Query(ctx, selectRiders)
	out, err := pgx.CollectRows(rows, scanRider)
	return out, translate(err, "list riders")
}

// CreateOrder stores an order made by orders.NewOrder with its creation event and the event's
// outbox row, idempotently by Key: a platform's resend returns the stored order. A new order
// costs one statement.
func (r *Repository) CreateOrder(ctx context.Context, o orders.Order, ev orders.Event) (orders.Order, bool, error) {
	if err := orders.CheckCreated(o, ev); err != nil {
		return orders.Order{}, false, fmt.Errorf("create order %s: %w", o.ID, err)
	}
	truncateOrder(&o)
	args := append(orderArgs(&o), ev.Seq, string(ev.Type), ts(ev.At), string(ev.Status), string(ev.Delivery),
		ev.RiderID, ev.Reason, ev.Actor, string(ev.Handover), ts(ev.ExpiresAt), eventToJSON(ev))
	tag, err := r.pool.Exec(ctx, insertOrder, args...)
	if err != nil {
		return orders.Order{}, false, translate(err, "create order %s", o.ID)
	}
	if tag.RowsAffected() == 1 {
		return o, true, nil
	}
	// The id or the key is taken. ON CONFLICT waited for the writer of the other row to
	// commit, so this new statement sees it.
	stored, err := scanOrder(r.pool.QueryRow(ctx, selectOrderByKey, o.Platform, o.PlatformOrderID))
	switch {
	case err == nil && orders.SameContent(stored, o):
		return stored, false, nil
	case err == nil:
		return orders.Order{}, false, orders.Conflict("order %s already exists as %s with different content", o.Key(), stored.ID)
	case !errors.Is(err, pgx.ErrNoRows):
		return orders.Order{}, false, translate(err, "create order %s", o.ID)
	}
	var platform, platformID string
	err = r.pool.QueryRow(ctx, selectKey, o.ID).Scan(&platform, &platformID)
	if err != nil {
		return orders.Order{}, false, translate(err, "create order %s: find the order holding its id", o.ID)
	}
	return orders.Order{}, false, orders.Conflict("order id %s is taken by %s/%s", o.ID, platform, platformID)
}

// GetOrder returns the order, or a KindNotFound error.
func (r *Repository) GetOrder(ctx context.Context, id string) (orders.Order, error) {
	o, err := scanOrder(r.pool.QueryRow(ctx, selectOrder, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return orders.Order{}, orders.NotFound("order", id)
	}
	if err != nil {
		return orders.Order{}, translate(err, "get order %s", id)
	}
	return o, nil
}

// UpdateOrder locks the order's row, calls fn on a copy and, if fn succeeds and its events
// check out (orders.CheckEvents), writes in one transaction: the order (only if it is still at
// the seq read), its events, one outbox row per event, and the assignments and deliveries the
// events imply (see changeBatch). A second active assignment of the order is refused by the
// database and reported as KindConflict. fn runs inside the transaction, so it must be quick.
func (r *Repository) UpdateOrder(ctx context.Context, id string, fn func(o *orders.Order) ([]orders.Event, error)) (orders.Order, error) {
	var (
		out   orders.Order
		fnErr error
	)
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		old, err := scanOrder(tx.QueryRow(ctx, selectOrderForUpdate, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return orders.NotFound("order", id)
		}
		if err != nil {
			return err
		}
		n := old
		evs, err := fn(&n)
		if err != nil {
			fnErr = err
			return err
		}
		if len(evs) == 0 {
			out = old
			return nil
		}
		if n.ID != old.ID || n.Key() != old.Key() {
			return orders.Invalid("order.id", "update of order %s changed its identity to %s (%s)", id, n.ID, n.Key())
		}
		if err := orders.CheckEvents(old.Seq, n, evs); err != nil {
			return err
		}
		truncateOrder(&n)
		if err := tx.SendBatch(ctx, changeBatch(old, n, evs)).Close(); err != nil {
			return err
		}
		out = n
		return nil
	})
	if fnErr != nil {
		return orders.Order{}, fnErr
	}
	if err != nil {
		return orders.Order{}, translate(err, "update order %s", id)
	}
	return out, nil
}

// UpdateOrders changes many orders in one transaction: it locks their rows (in id order, so
// that two batches cannot deadlock), calls fn on a copy of each in the order of ids, and writes
// every change that fn made and whose events check out in one batch; see orders.BatchUpdater.
// An order missing or refused by fn is reported in errs and left alone. If the database refuses
// any write (a concurrent change, a second active assignment), the whole batch is rolled back
// and err says why; the caller may then retry order by order.
func (r *Repository) UpdateOrders(ctx context.Context, ids []string, fn func(o *orders.Order) ([]orders.Event, error)) ([]error, error) {
	errs := make([]error, len(ids))
	if len(ids) == 0 {
		return errs, nil
	}
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		for i := range errs {
			errs[i] = nil
		}
		rows, err := tx.Query(ctx, selectOrdersForUpdate, ids)
		if err != nil {
			return err
		}
		byID := make(map[string]orders.Order, len(ids))
		for rows.Next() {
			o, err := scanOrder(rows)
			if err != nil {
				rows.Close()
				return err
			}
			byID[o.ID] = o
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for i, id := range ids {
			old, ok := byID[id]
			if !ok {
				errs[i] = orders.NotFound("order", id)
				continue
			}
			n := old
			evs, err := fn(&n)
			if err != nil {
				errs[i] = err
				continue
			}
			if len(evs) == 0 {
				continue
			}
			if n.ID != old.ID || n.Key() != old.Key() {
				errs[i] = orders.Invalid("order.id", "update of order %s changed its identity to %s (%s)", id, n.ID, n.Key())
				continue
			}
			if err := orders.CheckEvents(old.Seq, n, evs); err != nil {
				errs[i] = err
				continue
			}
			truncateOrder(&n)
			for _, q := range changeBatch(old, n, evs).QueuedQueries {
				b.QueuedQueries = append(b.QueuedQueries, q)
			}
			byID[id] = n // a later fn on the same id sees this change
		}
		if b.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return errs, translate(err, "update %d orders", len(ids))
	}
	return errs, nil
}

// changeBatch is the writes of a change of the order from old to n by evs:
//
//   - the order, if it is still at old.Seq (else KindConflict: a concurrent change);
//   - each event and its outbox row;
//   - an assignment opened by ASSIGNED, and closed by the first event after which no rider
//     holds the order (REASSIGNED, MERCHANT_REJECTED, AUTO_CANCELLED, CANCELLED, DELIVERED,
//     FAILED), with the event type and reason as the release reason ("REASSIGNED: flat tyre").
//     An offer is not an assignment: OFFER_DECLINED and OFFER_EXPIRED find none to close;
//   - a delivery row for DELIVERED and FAILED.
func changeBatch(old, n orders.Order, evs []orders.Event) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(updateOrder, append(orderArgs(&n), old.Seq)...).Exec(func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() != 1 {
			return orders.Conflict("order %s changed since it was read at seq %d", n.ID, old.Seq)
		}
		return nil
	})
	held := holds(old.Delivery)
	for i := range evs {
		ev := &evs[i]
		b.Queue(insertEvent, append(eventArgs(ev), eventToJSON(*ev))...)
		switch {
		case ev.Type == orders.EventAssigned:
			b.Queue(openAssignment, ev.OrderID, ev.RiderID, ts(ev.At))
			held = true
		case held && !holds(ev.Delivery):
			reason := string(ev.Type)
			if ev.Reason != "" {
				reason += ": " + ev.Reason
			}
			b.Queue(closeAssignment, ev.OrderID, ts(ev.At), reason)
			held = false
		}
		switch ev.Type {
		case orders.EventDelivered:
			b.Queue(insertDelivery, ev.OrderID, ev.RiderID, string(orders.DeliveryDelivered), ts(n.PickedUpAt),
				ts(ev.At), ts(time.Time{}), string(ev.Handover), ev.Reason)
		case orders.EventFailed:
			b.Queue(insertDelivery, ev.OrderID, ev.RiderID, string(orders.DeliveryFailed), ts(n.PickedUpAt),
				ts(time.Time{}), ts(ev.At), string(ev.Handover), ev.Reason)
		}
	}
	return b
}

// holds reports whether a rider holds an order whose delivery is d: from assignment until the
// goods are handed over or the delivery fails.
func holds(d orders.DeliveryStatus) bool {
	switch d {
	case orders.DeliveryAssigned, orders.DeliveryArrivedAtPickup, orders.DeliveryPickedUp, orders.DeliveryArrivedAtDropoff:
		return true
	}
	return false
}

// ListOrders returns the orders that match f, ordered by PlacedAt then ID.
func (r *Repository) ListOrders(ctx context.Context, f orders.OrderFilter) ([]orders.Order, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var (
		where []string
		args  []any
	)
	for _, c := range [...]struct{ col, v string }{{"store_id", f.StoreID}, {"rider_id", f.RiderID}, {"platform", f.Platform}} {
		if c.v != "" {
			args = append(args, c.v)
			where = append(where, c.col+" = $"+strconv.Itoa(len(args)))
		}
	}
	if f.Active {
		where = append(where, "active")
	}
	q := `SELECT ` + orderColumns + ` FROM orders`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY placed_at, id`
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += ` LIMIT $` + strconv.Itoa(len(args))
	}
	rows, _ := r.pool.Query(ctx, q, args...)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (orders.Order, error) { return scanOrder(row) })
	if err != nil {
		return nil, translate(err, "list orders")
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// Events returns the order's events in Seq order, or a KindNotFound error. Every stored order
// has at least its creation event.
func (r *Repository) Events(ctx context.Context, orderID string) ([]orders.Event, error) {
	rows, _ := r.pool.Query(ctx, selectEvents, orderID)
	evs, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, translate(err, "events of order %s", orderID)
	}
	if len(evs) == 0 {
		return nil, orders.NotFound("order", orderID)
	}
	return evs, nil
}
