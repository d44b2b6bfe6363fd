package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"zhengxiang/orders"
)

var (
	_ orders.Repository   = (*Repository)(nil)
	_ orders.BatchUpdater = (*Repository)(nil)
	_ orders.BatchCreator = (*Repository)(nil)
)

// Repository is the orders.Repository in PostgreSQL.
//
// UpdateOrder locks the order's row (SELECT ... FOR UPDATE) for the length of one transaction,
// so that concurrent changes of one order wait for each other instead of failing; changes of
// different orders do not meet. Statements are prepared once per connection (pgx's statement
// cache) and the writes of a change travel to the server as one batch. CreateOrders and
// UpdateOrders write set-based: the rows of a whole batch of orders go to each table in one
// statement, as arrays that it unnests.
type Repository struct {
	pool   *pgxpool.Pool
	events *eventCache // nil: none (New)
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
)

// insertOrder writes a new order ($1 to $numOrderColumns, orderArgs) with its creation event
// (the next ten parameters, eventArgs without the order id) and its outbox row in one statement,
// or nothing when the id or the key is taken; it reports the outbox rows written (1 or 0).
var insertOrder = func() string {
	var ev []string // the event's parameters, cast to eventTypes without order_id
	for i, t := range eventTypes[1:] {
		ev = append(ev, "$"+strconv.Itoa(numOrderColumns+1+i)+"::"+t)
	}
	seq := ev[0]
	return `WITH o AS (
		INSERT INTO orders (` + orderColumns + `) VALUES (` + params(1, numOrderColumns) + `)
		ON CONFLICT DO NOTHING
		RETURNING id
	), e AS (
		INSERT INTO order_events (` + eventColumns + `)
		SELECT o.id, ` + strings.Join(ev, ", ") + `
		FROM o
	)
	INSERT INTO outbox (order_id, seq) SELECT o.id, ` + seq + ` FROM o`
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
	if err := checkPublishable(0, &ev); err != nil {
		return orders.Order{}, false, fmt.Errorf("create order %s: %w", o.ID, err)
	}
	truncateOrder(&o)
	args := append(orderArgs(&o), eventArgs(&ev)[1:]...)
	tag, err := r.pool.Exec(ctx, insertOrder, args...)
	if err != nil {
		return orders.Order{}, false, translate(err, "create order %s", o.ID)
	}
	if tag.RowsAffected() == 1 {
		r.events.put(ev)
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

// CreateOrders stores new orders, each with all its events, their outbox rows and the
// assignments and deliveries the events imply, idempotently by Key as CreateOrder does; see
// orders.BatchCreator. The placements are taken in order, as if stored one after the other: an
// order whose key is taken by a stored order or by an earlier one of the batch is a resend
// (New false) when the two have the same content and KindConflict otherwise, and an order whose
// id is taken by another key is KindConflict. A placement that orders.CheckPlacement refuses is
// left out with its error, one that the database would refuse (a NUL byte in a text) with a
// KindInvalid error naming the field.
//
// The batch is one transaction of one statement whatever its size, and of a second one, which
// reads the orders holding their keys or ids, when some of its orders were not new. Two batches
// that store orders of the same keys or ids at the same time, in different orders, may
// deadlock: the database then fails one of them as a whole, KindConflict, and it may be sent
// again.
func (r *Repository) CreateOrders(ctx context.Context, ps []orders.Placement) ([]orders.Created, error) {
	out := make([]orders.Created, len(ps))
	var (
		rows orderRows
		set  rowSet
		sent []int // sent[k] is the index in ps of the order at position k+1 of rows
	)
	rows.grow(len(ps))
	given := make([]orders.Order, len(ps)) // the orders sent, truncated as stored
	for i := range ps {
		p := &ps[i]
		o := p.Order
		err := orders.CheckPlacement(*p)
		if err == nil {
			err = checkStorable(&o, p.Events)
		}
		if err == nil {
			truncateOrder(&o)
			open := -1
			err = set.addChange(int64(len(sent)+1), orders.DeliveryUnassigned, &o, p.Events, &open)
		}
		if err != nil {
			out[i].Err = fmt.Errorf("create order %s: %w", o.ID, err)
			continue
		}
		rows.add(&o)
		sent = append(sent, i)
		given[i] = o
	}
	if len(sent) == 0 {
		return out, nil
	}
	args := rows.args()
	args = append(args, set.events.pi)
	args = append(args, set.events.args()...)
	args = append(args, set.opens.pi)
	args = append(args, set.opens.args()...)
	args = append(args, set.deliveries.pi)
	args = append(args, set.deliveries.args()...)
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		res, _ := tx.Query(ctx, insertPlacements, args...)
		positions, err := pgx.CollectRows(res, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		stored := make([]bool, len(sent)) // by position - 1
		for _, pos := range positions {
			stored[pos-1] = true
		}
		return resolvePlacements(ctx, tx, out, sent, given, stored)
	})
	if err != nil {
		return nil, translate(err, "create %d orders", len(sent))
	}
	for i := range out {
		if out[i].New {
			r.events.put(ps[i].Events...)
		}
	}
	return out, nil
}

// resolvePlacements fills out for the orders sent: those stored are New, and each of the others
// lost to an order holding its key or id, which it reads in one statement: an order stored
// before, one of this batch, or one that a concurrent writer committed while ON CONFLICT waited
// for it.
func resolvePlacements(ctx context.Context, tx pgx.Tx, out []orders.Created, sent []int, given []orders.Order, stored []bool) error {
	var keyPlatform, keyID, ids []string
	storedAt := make(map[string]int, len(sent)) // key -> position of the order of this batch stored under it
	for k, i := range sent {
		o := &given[i]
		if stored[k] {
			out[i] = orders.Created{Order: *o, New: true}
			storedAt[o.Key()] = k
			continue
		}
		keyPlatform, keyID, ids = append(keyPlatform, o.Platform), append(keyID, o.PlatformOrderID), append(ids, o.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	res, _ := tx.Query(ctx, selectByKeysOrIDs, keyPlatform, keyID, ids)
	found, err := pgx.CollectRows(res, func(row pgx.CollectableRow) (orders.Order, error) { return scanOrder(row) })
	if err != nil {
		return fmt.Errorf("read the orders holding the keys or ids of %d orders: %w", len(ids), err)
	}
	byKey := make(map[string]orders.Order, len(found))
	byID := make(map[string]orders.Order, len(found))
	for _, o := range found {
		byKey[o.Key()], byID[o.ID] = o, o
	}
	for k, i := range sent {
		if stored[k] {
			continue
		}
		o := &given[i]
		// An order of this batch stored later under the key took it after this one lost on
		// its id.
		if s, ok := byKey[o.Key()]; ok {
			if at, mine := storedAt[o.Key()]; !mine || at < k {
				if orders.SameContent(s, *o) {
					out[i] = orders.Created{Order: s}
				} else {
					out[i].Err = orders.Conflict("order %s already exists as %s with different content", o.Key(), s.ID)
				}
				continue
			}
		}
		s, ok := byID[o.ID]
		if !ok {
			// Orders are never deleted: the row the statement skipped this one for is there.
			return fmt.Errorf("order %s (%s) was not stored, and no order holds its key or id", o.ID, o.Key())
		}
		out[i].Err = orders.Conflict("order id %s is taken by %s/%s", o.ID, s.Platform, s.PlatformOrderID)
	}
	return nil
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
// events imply (see rowSet). A second active assignment of the order is refused by the
// database and reported as KindConflict. A change of the order's identity or of its secrets
// (TrackingSecret, PickupCode, HandoverCode), which no update writes, is KindInvalid. fn runs inside the
// transaction, so it must be quick.
func (r *Repository) UpdateOrder(ctx context.Context, id string, fn func(o *orders.Order) ([]orders.Event, error)) (orders.Order, error) {
	var (
		out     orders.Order
		written []orders.Event
		fnErr   error
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
		if err := checkChange(&old, &n, evs); err != nil {
			return err
		}
		truncateOrder(&n)
		var set changeSet
		if err := set.add(old, n, evs); err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, set.batch()).Close(); err != nil {
			return err
		}
		out, written = n, evs
		return nil
	})
	if fnErr != nil {
		return orders.Order{}, fnErr
	}
	if err != nil {
		return orders.Order{}, translate(err, "update order %s", id)
	}
	r.events.put(written...)
	return out, nil
}

// checkChange checks the change of an order from old to n by evs: the events must follow old's
// seq (orders.CheckEvents), and the identity and the secrets must be as they were.
func checkChange(old, n *orders.Order, evs []orders.Event) error {
	if n.ID != old.ID || n.Key() != old.Key() {
		return orders.Invalid("order.id", "update of order %s changed its identity to %s (%s)", old.ID, n.ID, n.Key())
	}
	if n.TrackingSecret != old.TrackingSecret || n.PickupCode != old.PickupCode || n.HandoverCode != old.HandoverCode {
		return orders.Invalid("order.tracking_secret", "update of order %s changed its tracking secret or pickup code", old.ID)
	}
	return orders.CheckEvents(old.Seq, *n, evs)
}

// UpdateOrders changes many orders in one transaction: it locks their rows (in id order, so
// that two batches cannot deadlock), calls fn on a copy of each in the order of ids, and writes
// every change that fn made and whose events check out; see orders.BatchUpdater. An order
// missing or refused by fn, or whose change the database could not store (a NUL byte in a
// reason, say), or whose identity or secrets fn changed, is reported in errs and left alone. An
// id given twice is changed twice: the second fn sees the first one's change.
//
// The writes are set-based: whatever the number of orders, one UPDATE of the orders (each only
// if it is still at the seq read), one INSERT of the events with their outbox rows, and, when
// the changes imply them, one UPDATE releasing assignments, one INSERT of new assignments and
// one INSERT of deliveries (see rowSet), sent together in one round trip. If the database
// refuses any write (an order that changed since it was read, a second active assignment of an
// order), the whole batch is rolled back and err, KindConflict, says why; the caller may then
// retry order by order.
func (r *Repository) UpdateOrders(ctx context.Context, ids []string, fn func(o *orders.Order) ([]orders.Event, error)) ([]error, error) {
	errs := make([]error, len(ids))
	if len(ids) == 0 {
		return errs, nil
	}
	var written []orders.Event
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		for i := range errs {
			errs[i] = nil
		}
		written = written[:0]
		rows, err := tx.Query(ctx, selectOrdersForUpdate, ids)
		if err != nil {
			return err
		}
		// The orders as read, then as changed so far: fn works on them in place, so that a
		// later fn on the same id sees the change, and a change that fails is undone.
		got := make([]orders.Order, 0, len(ids))
		at := make(map[string]int, len(ids))
		for rows.Next() {
			o, err := scanOrder(rows)
			if err != nil {
				rows.Close()
				return err
			}
			at[o.ID] = len(got)
			got = append(got, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		set := changeSet{changes: make([]change, 0, len(got)), at: make(map[string]int, len(got))}
		for i, id := range ids {
			k, ok := at[id]
			if !ok {
				errs[i] = orders.NotFound("order", id)
				continue
			}
			n := &got[k]
			old := *n
			evs, err := fn(n)
			if err == nil && len(evs) > 0 {
				if err = checkChange(&old, n, evs); err == nil {
					truncateOrder(n)
					err = set.add(old, *n, evs)
				}
			}
			if err != nil || len(evs) == 0 {
				*n = old
				errs[i] = err
				continue
			}
			written = append(written, evs...)
		}
		if set.len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, set.batch()).Close()
	})
	if err != nil {
		return errs, translate(err, "update %d orders", len(ids))
	}
	r.events.put(written...)
	return errs, nil
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
