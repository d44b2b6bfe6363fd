package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

var (
	_ orders.HealthStore   = (*Repository)(nil)
	_ orders.DropoffFinder = (*Repository)(nil)
)

// healthBook is the riders' health cards: the card of each rider and day, and every card
// recorded. It has a lock of its own, so that cards never wait for orders.
type healthBook struct {
	mu      sync.Mutex
	cards   map[healthKey]orders.HealthCard
	history map[healthKey][]orders.HealthCard
}

type healthKey struct {
	rider string
	day   orders.Day
}

// PutHealthCard records the rider's card of its day, replacing an earlier one of that day; a
// card recorded before the one kept (a late retry) joins the history only.
func (r *Repository) PutHealthCard(ctx context.Context, c orders.HealthCard) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	h := &r.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cards == nil {
		h.cards, h.history = map[healthKey]orders.HealthCard{}, map[healthKey][]orders.HealthCard{}
	}
	k := healthKey{c.RiderID, c.Day}
	if old, ok := h.cards[k]; !ok || !c.RecordedAt.Before(old.RecordedAt) {
		h.cards[k] = c
	}
	list := append(h.history[k], c)
	slices.SortStableFunc(list, func(a, b orders.HealthCard) int { return a.RecordedAt.Compare(b.RecordedAt) })
	h.history[k] = list
	return nil
}

// HealthCard returns the rider's card of the day, or a KindNotFound error.
func (r *Repository) HealthCard(ctx context.Context, riderID string, day orders.Day) (orders.HealthCard, error) {
	if err := ctx.Err(); err != nil {
		return orders.HealthCard{}, err
	}
	r.health.mu.Lock()
	c, ok := r.health.cards[healthKey{riderID, day}]
	r.health.mu.Unlock()
	if !ok {
		return orders.HealthCard{}, orders.NoHealthCard(riderID, day)
	}
	return c, nil
}

// HealthCards returns every rider's card of the day, ordered by rider.
func (r *Repository) HealthCards(ctx context.Context, day orders.Day) ([]orders.HealthCard, error) {
	return r.HealthCardsSince(ctx, day, time.Time{})
}

// HealthCardsSince returns the cards of the day recorded at or after since, ordered by rider.
func (r *Repository) HealthCardsSince(ctx context.Context, day orders.Day, since time.Time) ([]orders.HealthCard, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []orders.HealthCard
	r.health.mu.Lock()
	for k, c := range r.health.cards {
		if k.day == day && !c.RecordedAt.Before(since) {
			out = append(out, c)
		}
	}
	r.health.mu.Unlock()
	slices.SortFunc(out, func(a, b orders.HealthCard) int { return cmp.Compare(a.RiderID, b.RiderID) })
	return out, nil
}

// HealthCardHistory returns the rider's cards of the day, oldest first.
func (r *Repository) HealthCardHistory(ctx context.Context, riderID string, day orders.Day) ([]orders.HealthCard, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.health.mu.Lock()
	defer r.health.mu.Unlock()
	return slices.Clone(r.health.history[healthKey{riderID, day}]), nil
}

// OrdersDroppedIn returns the orders delivered to the box whose life overlaps the window, by
// looking at every order.
func (r *Repository) OrdersDroppedIn(ctx context.Context, sw, ne geo.Point, from, to time.Time) ([]orders.Order, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := orders.CheckDropoffQuery(sw, ne, from, to); err != nil {
		return nil, err
	}
	var out []orders.Order
	r.mu.RLock()
	for _, e := range r.orders {
		if orders.InDropoffQuery(e.order, sw, ne, from, to) {
			out = append(out, e.order)
		}
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b orders.Order) int {
		return cmp.Or(a.PlacedAt.Compare(b.PlacedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}
