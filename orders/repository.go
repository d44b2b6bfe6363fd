package orders

import "context"

// OrderFilter selects orders for ListOrders. Empty fields match everything; Active keeps only the
// orders that have not ended; Limit caps the result (0: no cap). Results are ordered by PlacedAt,
// then ID. RiderID is for tools and tests: the record keeps no index of riders' orders (the
// dispatcher answers riders), so on its own it reads every order.
type OrderFilter struct {
	StoreID, RiderID, Platform string
	Active                     bool
	Limit                      int
}

// Match reports whether o passes every condition of f except Limit.
func (f OrderFilter) Match(o Order) bool {
	return (f.StoreID == "" || o.StoreID == f.StoreID) &&
		(f.RiderID == "" || o.RiderID == f.RiderID) &&
		(f.Platform == "" || o.Platform == f.Platform) &&
		(!f.Active || o.Active())
}

// Validate checks the filter.
func (f OrderFilter) Validate() error {
	if f.Limit < 0 {
		return Invalid("filter.limit", "%d is negative", f.Limit)
	}
	return nil
}

// Repository stores stores, riders, orders and their events. Every implementation (the in-memory
// one in orders/memory, the database one) passes orderstest.RunRepositoryContract.
type Repository interface {
	// PutStore creates or replaces a store.
	PutStore(ctx context.Context, s Store) error
	// GetStore returns the store, or a KindNotFound error.
	GetStore(ctx context.Context, id string) (Store, error)
	// ListStores returns every store, ordered by ID.
	ListStores(ctx context.Context) ([]Store, error)

	// PutRider creates or replaces a rider.
	PutRider(ctx context.Context, r Rider) error
	// GetRider returns the rider, or a KindNotFound error.
	GetRider(ctx context.Context, id string) (Rider, error)
	// ListRiders returns every rider, ordered by ID.
	ListRiders(ctx context.Context) ([]Rider, error)

	// CreateOrder stores an order made by NewOrder together with its ORDER_CREATED event. It is
	// idempotent by Key(): when an order with the same key exists it returns that order and
	// created=false, or a KindConflict error if the two differ in store, section, items, amounts
	// or dropoff. An order whose ID is taken by another key is KindConflict too.
	CreateOrder(ctx context.Context, o Order, ev Event) (stored Order, created bool, err error)
	// GetOrder returns the order, or a KindNotFound error.
	GetOrder(ctx context.Context, id string) (Order, error)
	// UpdateOrder loads the order, calls fn on a copy and, if fn returns nil, stores the copy and
	// the events fn returned in one atomic step. The events must carry consecutive Seq after the
	// stored one and the copy's Seq must be the last of them (else KindConflict: a concurrent
	// change). fn returning no events changes nothing. fn's own error is returned as it is. fn
	// may run under the repository's lock: it must not call the repository.
	UpdateOrder(ctx context.Context, id string, fn func(o *Order) ([]Event, error)) (Order, error)
	// ListOrders returns the orders that match f.
	ListOrders(ctx context.Context, f OrderFilter) ([]Order, error)
	// Events returns the order's events in Seq order, or a KindNotFound error.
	Events(ctx context.Context, orderID string) ([]Event, error)
}

// Publisher sends committed events to the stream that platforms, tracking and statistics read.
// It keeps the order of evs.
type Publisher interface {
	Publish(ctx context.Context, evs ...Event) error
}

// SameContent reports whether two orders with the same Key carry the same order: store, section,
// items, amounts and dropoff. CreateOrder uses it to tell a platform's resend from a clash.
func SameContent(a, b Order) bool {
	if a.StoreID != b.StoreID || a.Section != b.Section || a.SubtotalCents != b.SubtotalCents ||
		a.DeliveryFeeCents != b.DeliveryFeeCents || a.Dropoff != b.Dropoff || len(a.Items) != len(b.Items) ||
		a.ChosenDropoff() != b.ChosenDropoff() || a.Instructions != b.Instructions || a.DropoffSiteID != b.DropoffSiteID {
		return false
	}
	for i := range a.Items {
		if a.Items[i] != b.Items[i] {
			return false
		}
	}
	return true
}

// CheckEvents checks the events that an update of the order stored at seq wants to commit with
// the updated order n: consecutive Seq after seq, all for n, and n.Seq the last one. Every
// Repository implementation applies it in UpdateOrder.
func CheckEvents(seq int64, n Order, evs []Event) error {
	for i, ev := range evs {
		if ev.OrderID != n.ID {
			return Invalid("event.order_id", "event %d is for order %q, not %q", ev.Seq, ev.OrderID, n.ID)
		}
		if want := seq + int64(i) + 1; ev.Seq != want {
			return Conflict("order %s: event %s has seq %d, want %d (a concurrent change?)", n.ID, ev.Type, ev.Seq, want)
		}
	}
	if want := seq + int64(len(evs)); n.Seq != want {
		return Conflict("order %s: seq %d after %d events from seq %d, want %d", n.ID, n.Seq, len(evs), seq, want)
	}
	return nil
}

// CheckCreated checks the arguments of CreateOrder: a valid order as NewOrder left it and its
// ORDER_CREATED event. Every Repository implementation applies it in CreateOrder.
func CheckCreated(o Order, ev Event) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Seq != 1 || o.Status != StatusCreated || o.Delivery != DeliveryUnassigned {
		return Invalid("order.seq", "order %s is at seq %d (%s/%s), not as NewOrder made it", o.ID, o.Seq, o.Status, o.Delivery)
	}
	if ev.OrderID != o.ID || ev.Seq != 1 || ev.Type != EventOrderCreated {
		return Invalid("event", "%s seq %d for order %q is not the creation of order %s", ev.Type, ev.Seq, ev.OrderID, o.ID)
	}
	return nil
}

// BatchUpdater is a Repository that can change many orders in one go, as a dispatch round does
// when it offers hundreds of orders at once. Users fall back to UpdateOrder when their
// repository is not one.
type BatchUpdater interface {
	// UpdateOrders calls fn for each order of ids (in the order given) and writes every change
	// whose fn succeeded, with its events, atomically. errs[i] is the error of ids[i] (not found,
	// or fn's own), and that order is left as it was; err is an error of the whole batch, in which
	// case nothing was written.
	UpdateOrders(ctx context.Context, ids []string, fn func(o *Order) ([]Event, error)) (errs []error, err error)
}

// Placement is an order for CreateOrders: the order as it is to be stored, and the events that
// brought it there, the first being its ORDER_CREATED (as NewOrder made it) and the rest, if
// any, the changes it went through before it was stored (the ticket sent to its store, say).
type Placement struct {
	Order  Order
	Events []Event
}

// Created is what CreateOrders did with one Placement.
type Created struct {
	// Order is the order as stored: the one given when New, the one found under its key
	// otherwise.
	Order Order
	// New is true when this call stored the order, false when its key was taken by the same
	// order (a platform's resend).
	New bool
	// Err is the order's own error: invalid (see CheckPlacement), or KindConflict when its key is
	// taken by a different order or its ID by another key. The order was not stored.
	Err error
}

// CheckPlacement checks a Placement: a valid order, its ORDER_CREATED event at seq 1 first, then
// consecutive events, and the order at the last event's seq.
func CheckPlacement(n Placement) error {
	if err := n.Order.Validate(); err != nil {
		return err
	}
	if len(n.Events) == 0 {
		return Invalid("events", "order %s has no ORDER_CREATED event", n.Order.ID)
	}
	if ev := n.Events[0]; ev.OrderID != n.Order.ID || ev.Seq != 1 || ev.Type != EventOrderCreated {
		return Invalid("event", "%s seq %d for order %q is not the creation of order %s", ev.Type, ev.Seq, ev.OrderID, n.Order.ID)
	}
	return CheckEvents(0, n.Order, n.Events)
}

// BatchCreator is a Repository that can store many new orders in one go, as the intake does
// with a batch of placed orders. Users fall back to CreateOrder (and UpdateOrder for the events
// after the first) when their repository is not one.
type BatchCreator interface {
	// CreateOrders stores each new order with all its events (and, where the repository has
	// one, their outbox rows), idempotently by Key() as CreateOrder does, in one atomic step:
	// out[i] says what became of ps[i]. An order whose key was taken by the same order is
	// returned as stored, New false, even when it is at a later state. Two orders of one batch
	// with the same key are taken as a resend of the first. err is an error of the whole
	// batch, in which case nothing was stored.
	CreateOrders(ctx context.Context, ps []Placement) (out []Created, err error)
}
