package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"zhengxiang/orders"
)

var _ orders.DropSiteStore = (*Repository)(nil)

// siteBook is the drop sites and the lockers' slots held, by order. It has a lock of its own,
// which makes every reservation atomic; a change of an order that frees its slot takes it
// while holding the orders' lock (never the other way round).
type siteBook struct {
	mu    sync.Mutex
	sites map[string]*orders.DropSite
	held  map[string]string // order id → the locker whose slot it holds
}

// CreateDropSite registers a site.
func (r *Repository) CreateDropSite(ctx context.Context, s orders.DropSite) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	b := &r.sites
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sites == nil {
		b.sites, b.held = map[string]*orders.DropSite{}, map[string]string{}
	}
	if _, ok := b.sites[s.ID]; ok {
		return orders.Conflict("drop site %s exists", s.ID)
	}
	s.Reserved, s.Closed, s.ClosedAt = 0, false, time.Time{}
	b.sites[s.ID] = &s
	return nil
}

// DropSite returns the site, or a KindNotFound error.
func (r *Repository) DropSite(ctx context.Context, id string) (orders.DropSite, error) {
	return r.sites.change(ctx, id, func(*orders.DropSite) {})
}

// change calls fn on the site under the book's lock and returns the site after it, or a
// KindNotFound error.
func (b *siteBook) change(ctx context.Context, id string, fn func(s *orders.DropSite)) (orders.DropSite, error) {
	if err := ctx.Err(); err != nil {
		return orders.DropSite{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sites[id]
	if !ok {
		return orders.DropSite{}, orders.NotFound("drop site", id)
	}
	fn(s)
	return *s, nil
}

// DropSites returns every site, ordered by ID.
func (r *Repository) DropSites(ctx context.Context) ([]orders.DropSite, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := &r.sites
	b.mu.Lock()
	out := make([]orders.DropSite, 0, len(b.sites))
	for _, s := range b.sites {
		out = append(out, *s)
	}
	b.mu.Unlock()
	slices.SortFunc(out, func(a, b orders.DropSite) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// CloseDropSite closes the site.
func (r *Repository) CloseDropSite(ctx context.Context, id string, at time.Time) (orders.DropSite, error) {
	return r.sites.change(ctx, id, func(s *orders.DropSite) {
		if !s.Closed {
			s.Closed, s.ClosedAt = true, at
		}
	})
}

// ReserveSlot holds a slot of the locker for the order when one is free.
func (r *Repository) ReserveSlot(ctx context.Context, siteID, orderID string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if orderID == "" {
		return false, orders.Invalid("order_id", "required")
	}
	b := &r.sites
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sites[siteID]
	switch {
	case !ok:
		return false, orders.NotFound("drop site", siteID)
	case s.Kind != orders.HandoverLocker:
		return false, orders.Invalid("dropoff_site_id", "site %s is a %s, not a locker", siteID, s.Kind)
	case b.held[orderID] != "":
		return true, nil
	case s.Reserved >= s.Slots:
		return false, nil
	}
	s.Reserved++
	b.held[orderID] = siteID
	return true, nil
}

// ReleaseSlot frees the order's slot, if any.
func (r *Repository) ReleaseSlot(ctx context.Context, orderID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.sites.release(orderID)
	return nil
}

// release frees the slot the order holds, if any.
func (b *siteBook) release(orderID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if id, ok := b.held[orderID]; ok {
		b.sites[id].Reserved--
		delete(b.held, orderID)
	}
}

// HasOrderKey reports whether an order of the key is stored.
func (r *Repository) HasOrderKey(ctx context.Context, platform, platformOrderID string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.byKey[orders.Order{Platform: platform, PlatformOrderID: platformOrderID}.Key()]
	return ok, nil
}
