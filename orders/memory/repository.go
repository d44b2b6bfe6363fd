// Package memory holds the in-process implementations of the orders ports: a Repository kept in
// maps and an event Stream. They back the embedded default (no Postgres, no Kafka) and the tests.
package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"zhengxiang/orders"
)

var (
	_ orders.Repository   = (*Repository)(nil)
	_ orders.BatchUpdater = (*Repository)(nil)
	_ orders.BatchCreator = (*Repository)(nil)
)

// Repository is an orders.Repository in memory. One RWMutex guards everything: reads share it,
// writes (and the fn of UpdateOrder) hold it alone, which makes every update atomic and
// serialises concurrent updates of one order.
//
// Committed events go to an outbox that is published in commit order, outside the lock, before
// the writing call returns. An event the Publisher refuses stays in the outbox and is retried by
// the next write or by Flush, as a database outbox relay would do.
type Repository struct {
	pub orders.Publisher

	mu     sync.RWMutex
	stores map[string]orders.Store
	riders map[string]orders.Rider
	orders map[string]*entry
	byKey  map[string]*entry
	outbox []orders.Event
	ops    ops // suspensions, their audit and missed acknowledgements (audit.go)
	// health holds the riders' health cards (health.go).
	health healthBook
	// sites holds the drop sites and the lockers' slots (dropsite.go).
	sites siteBook

	pubMu sync.Mutex // held while publishing, so that batches leave in commit order
}

type entry struct {
	order  orders.Order
	events []orders.Event
}

// NewRepository returns an empty repository that publishes its events to pub (nil: nowhere).
func NewRepository(pub orders.Publisher) *Repository {
	return &Repository{
		pub:    pub,
		stores: make(map[string]orders.Store),
		riders: make(map[string]orders.Rider),
		orders: make(map[string]*entry),
		byKey:  make(map[string]*entry),
	}
}

// PutStore creates or replaces a store.
func (r *Repository) PutStore(ctx context.Context, s orders.Store) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	r.stores[s.ID] = s
	r.mu.Unlock()
	return nil
}

// GetStore returns the store, or a KindNotFound error.
func (r *Repository) GetStore(ctx context.Context, id string) (orders.Store, error) {
	if err := ctx.Err(); err != nil {
		return orders.Store{}, err
	}
	r.mu.RLock()
	s, ok := r.stores[id]
	r.mu.RUnlock()
	if !ok {
		return orders.Store{}, orders.NotFound("store", id)
	}
	return s, nil
}

// ListStores returns every store, ordered by ID.
func (r *Repository) ListStores(ctx context.Context) ([]orders.Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.RLock()
	out := make([]orders.Store, 0, len(r.stores))
	for _, s := range r.stores {
		out = append(out, s)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b orders.Store) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// PutRider creates or replaces a rider.
func (r *Repository) PutRider(ctx context.Context, rd orders.Rider) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := rd.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	r.riders[rd.ID] = rd
	r.mu.Unlock()
	return nil
}

// GetRider returns the rider, or a KindNotFound error.
func (r *Repository) GetRider(ctx context.Context, id string) (orders.Rider, error) {
	if err := ctx.Err(); err != nil {
		return orders.Rider{}, err
	}
	r.mu.RLock()
	rd, ok := r.riders[id]
	r.mu.RUnlock()
	if !ok {
		return orders.Rider{}, orders.NotFound("rider", id)
	}
	return rd, nil
}

// ListRiders returns every rider, ordered by ID.
func (r *Repository) ListRiders(ctx context.Context) ([]orders.Rider, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.RLock()
	out := make([]orders.Rider, 0, len(r.riders))
	for _, rd := range r.riders {
		out = append(out, rd)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b orders.Rider) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// CreateOrder stores an order made by orders.NewOrder with its creation event, idempotently by
// Key. The stored order keeps its own copy of the items.
func (r *Repository) CreateOrder(ctx context.Context, o orders.Order, ev orders.Event) (orders.Order, bool, error) {
	if err := ctx.Err(); err != nil {
		return orders.Order{}, false, err
	}
	if err := orders.CheckCreated(o, ev); err != nil {
		return orders.Order{}, false, fmt.Errorf("create order %s: %w", o.ID, err)
	}
	r.mu.Lock()
	stored, created, err := r.createLocked(o, []orders.Event{ev})
	r.mu.Unlock()
	if created {
		_ = r.flush(ctx) // committed: what the Publisher refuses stays in the outbox
	}
	return stored, created, err
}

// CreateOrders stores the placements one after the other under one hold of the write lock, each
// as CreateOrder would with all its events, and publishes the events of the new orders in one go,
// in the order of ps; see orders.BatchCreator. An order whose key an earlier one of the batch
// took is a resend of it, or a clash. A placement that orders.CheckPlacement refuses is left out
// with its error.
func (r *Repository) CreateOrders(ctx context.Context, ps []orders.Placement) ([]orders.Created, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]orders.Created, len(ps))
	created := false
	r.mu.Lock()
	for i, p := range ps {
		if err := orders.CheckPlacement(p); err != nil {
			out[i].Err = fmt.Errorf("create order %s: %w", p.Order.ID, err)
			continue
		}
		o, isNew, err := r.createLocked(p.Order, p.Events)
		out[i] = orders.Created{Order: o, New: isNew, Err: err}
		created = created || isNew
	}
	r.mu.Unlock()
	if created {
		_ = r.flush(ctx) // committed: what the Publisher refuses stays in the outbox
	}
	return out, nil
}

// createLocked stores o with its events evs, checked by the caller, unless o's key or ID is
// taken: it returns the order stored under the key and created=false when that order has the
// same content, a KindConflict error otherwise. The stored order and events are the
// repository's own copies. r.mu is held.
func (r *Repository) createLocked(o orders.Order, evs []orders.Event) (orders.Order, bool, error) {
	if e, ok := r.byKey[o.Key()]; ok {
		if !orders.SameContent(e.order, o) {
			return orders.Order{}, false, orders.Conflict("order %s already exists as %s with different content", o.Key(), e.order.ID)
		}
		return e.order, false, nil
	}
	if e, ok := r.orders[o.ID]; ok {
		return orders.Order{}, false, orders.Conflict("order id %s is taken by %s", o.ID, e.order.Key())
	}
	o.Items = slices.Clone(o.Items)
	e := &entry{order: o, events: slices.Clone(evs)}
	r.orders[o.ID] = e
	r.byKey[o.Key()] = e
	if r.pub != nil {
		r.outbox = append(r.outbox, evs...)
	}
	return o, true, nil
}

// GetOrder returns the order, or a KindNotFound error. Its Items are shared with the stored order.
func (r *Repository) GetOrder(ctx context.Context, id string) (orders.Order, error) {
	if err := ctx.Err(); err != nil {
		return orders.Order{}, err
	}
	r.mu.RLock()
	e, ok := r.orders[id]
	var o orders.Order
	if ok {
		o = e.order
	}
	r.mu.RUnlock()
	if !ok {
		return orders.Order{}, orders.NotFound("order", id)
	}
	return o, nil
}

// UpdateOrder calls fn on a copy of the order under the write lock and commits the copy and its
// events if fn succeeds and the events check out (orders.CheckEvents). A change of the order's
// identity or of its secrets (TrackingSecret, PickupCode, HandoverCode) is KindInvalid.
func (r *Repository) UpdateOrder(ctx context.Context, id string, fn func(o *orders.Order) ([]orders.Event, error)) (orders.Order, error) {
	if err := ctx.Err(); err != nil {
		return orders.Order{}, err
	}
	o, evs, err := r.update(id, fn)
	if err != nil {
		return orders.Order{}, err
	}
	if len(evs) > 0 {
		_ = r.flush(ctx) // committed: what the Publisher refuses stays in the outbox
	}
	return o, nil
}

// UpdateOrders applies fn to each order of ids under one hold of the write lock; see
// orders.BatchUpdater.
func (r *Repository) UpdateOrders(ctx context.Context, ids []string, fn func(o *orders.Order) ([]orders.Event, error)) ([]error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	errs := make([]error, len(ids))
	changed := false
	r.mu.Lock()
	for i, id := range ids {
		_, evs, err := r.updateLocked(id, fn)
		errs[i] = err
		changed = changed || len(evs) > 0
	}
	r.mu.Unlock()
	if changed {
		_ = r.flush(ctx)
	}
	return errs, nil
}

// update is the locked part of UpdateOrder.
func (r *Repository) update(id string, fn func(o *orders.Order) ([]orders.Event, error)) (orders.Order, []orders.Event, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.updateLocked(id, fn)
}

// updateLocked changes one order; r.mu is held.
func (r *Repository) updateLocked(id string, fn func(o *orders.Order) ([]orders.Event, error)) (orders.Order, []orders.Event, error) {
	e, ok := r.orders[id]
	if !ok {
		return orders.Order{}, nil, orders.NotFound("order", id)
	}
	n := e.order
	evs, err := fn(&n)
	if err != nil {
		return orders.Order{}, nil, err
	}
	if len(evs) == 0 {
		return e.order, nil, nil
	}
	if n.ID != e.order.ID || n.Key() != e.order.Key() {
		return orders.Order{}, nil, orders.Invalid("order.id", "update of order %s changed its identity to %s (%s)", id, n.ID, n.Key())
	}
	if n.TrackingSecret != e.order.TrackingSecret || n.PickupCode != e.order.PickupCode || n.HandoverCode != e.order.HandoverCode {
		return orders.Order{}, nil, orders.Invalid("order.tracking_secret", "update of order %s changed its tracking secret, pickup code or hand-over code", id)
	}
	if err := orders.CheckEvents(e.order.Seq, n, evs); err != nil {
		return orders.Order{}, nil, fmt.Errorf("update order %s: %w", id, err)
	}
	e.order = n
	e.events = append(e.events, evs...)
	if orders.FreesSlot(&n, evs) {
		r.sites.release(n.ID)
	}
	if r.pub != nil {
		r.outbox = append(r.outbox, evs...)
	}
	return n, evs, nil
}

// ListOrders returns the orders that match f, ordered by PlacedAt then ID.
func (r *Repository) ListOrders(ctx context.Context, f orders.OrderFilter) ([]orders.Order, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var out []orders.Order
	r.mu.RLock()
	for _, e := range r.orders {
		if f.Match(e.order) {
			out = append(out, e.order)
		}
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b orders.Order) int {
		return cmp.Or(a.PlacedAt.Compare(b.PlacedAt), cmp.Compare(a.ID, b.ID))
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit:f.Limit]
	}
	return out, nil
}

// Events returns a copy of the order's events in Seq order, or a KindNotFound error.
func (r *Repository) Events(ctx context.Context, orderID string) ([]orders.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.orders[orderID]
	if !ok {
		return nil, orders.NotFound("order", orderID)
	}
	return slices.Clone(e.events), nil
}

// Flush publishes the events still in the outbox and returns the Publisher's error, if any.
func (r *Repository) Flush(ctx context.Context) error { return r.flush(ctx) }

// Pending returns the number of committed events not yet published.
func (r *Repository) Pending() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.outbox)
}

// flush publishes the outbox in commit order. One flusher runs at a time and drains what others
// committed meanwhile, so a writer's events are out when its flush returns. The caller's
// cancellation does not stop the publication of what is already committed.
func (r *Repository) flush(ctx context.Context) error {
	if r.pub == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	r.pubMu.Lock()
	defer r.pubMu.Unlock()
	for {
		r.mu.Lock()
		batch := r.outbox
		r.outbox = nil
		r.mu.Unlock()
		if len(batch) == 0 {
			return nil
		}
		if err := r.pub.Publish(ctx, batch...); err != nil {
			r.mu.Lock()
			r.outbox = append(batch, r.outbox...)
			r.mu.Unlock()
			return fmt.Errorf("publish %d events: %w", len(batch), err)
		}
	}
}
