package memory

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"

	"zhengxiang/orders"
)

var (
	_ orders.SuspensionStore = (*Repository)(nil)
	_ orders.AckStore        = (*Repository)(nil)
)

// ops is what the Repository keeps beside the orders for the operators: the suspensions in
// force, the audit of suspensions and restores, and the missed acknowledgements. The
// Repository's mutex guards it, so that a store-wide suspension marks the store in the same
// step.
type ops struct {
	inForce map[stopKey]orders.Suspension
	audit   []orders.AuditEntry // by ID, from 1
	missed  map[string]orders.MissedAck
}

type stopKey struct{ store, sku string }

// Suspend puts s in force and appends its audit entry; see orders.SuspensionStore.
func (r *Repository) Suspend(ctx context.Context, s orders.Suspension) (orders.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return orders.AuditEntry{}, err
	}
	if err := s.Validate(); err != nil {
		return orders.AuditEntry{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.stores[s.StoreID]
	if !ok {
		return orders.AuditEntry{}, orders.NotFound("store", s.StoreID)
	}
	e := r.appendAuditLocked(orders.AuditSuspend, s)
	s.AuditID = e.ID
	if r.ops.inForce == nil {
		r.ops.inForce = map[stopKey]orders.Suspension{}
	}
	r.ops.inForce[stopKey{s.StoreID, s.SKU}] = s
	if s.SKU == "" {
		st.Suspended = true
		r.stores[s.StoreID] = st
	}
	return e, nil
}

// Lift ends the stop s names and appends its audit entry; see orders.SuspensionStore.
func (r *Repository) Lift(ctx context.Context, s orders.Suspension) (orders.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return orders.AuditEntry{}, err
	}
	if err := s.Validate(); err != nil {
		return orders.AuditEntry{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.stores[s.StoreID]
	if !ok {
		return orders.AuditEntry{}, orders.NotFound("store", s.StoreID)
	}
	k := stopKey{s.StoreID, s.SKU}
	_, stopped := r.ops.inForce[k]
	if !stopped && !(s.SKU == "" && st.Suspended) {
		return orders.AuditEntry{}, orders.Conflict("%s is not suspended", s.What())
	}
	delete(r.ops.inForce, k)
	if s.SKU == "" {
		st.Suspended = false
		r.stores[s.StoreID] = st
	}
	return r.appendAuditLocked(orders.AuditRestore, s), nil
}

// appendAuditLocked appends an audit entry; r.mu is held.
func (r *Repository) appendAuditLocked(a orders.AuditAction, s orders.Suspension) orders.AuditEntry {
	s.AuditID = 0
	e := orders.AuditEntry{ID: int64(len(r.ops.audit) + 1), Action: a, Suspension: s}
	r.ops.audit = append(r.ops.audit, e)
	return e
}

// NoteCancelled adds orders to an audit entry's cancelled ones.
func (r *Repository) NoteCancelled(ctx context.Context, entryID int64, orderIDs []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if entryID < 1 || entryID > int64(len(r.ops.audit)) {
		return orders.NotFound("audit entry", "#"+strconv.FormatInt(entryID, 10))
	}
	e := &r.ops.audit[entryID-1]
	for _, id := range orderIDs {
		if !slices.Contains(e.Cancelled, id) {
			e.Cancelled = append(e.Cancelled, id)
		}
	}
	return nil
}

// Suspensions returns the stops in force, by store and SKU.
func (r *Repository) Suspensions(ctx context.Context) ([]orders.Suspension, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.RLock()
	out := make([]orders.Suspension, 0, len(r.ops.inForce))
	for _, s := range r.ops.inForce {
		out = append(out, s)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b orders.Suspension) int {
		return cmp.Or(cmp.Compare(a.StoreID, b.StoreID), cmp.Compare(a.SKU, b.SKU))
	})
	return out, nil
}

// Audit returns the audit entries that match f, newest first. Each has its own copy of its
// cancelled orders.
func (r *Repository) Audit(ctx context.Context, f orders.AuditFilter) ([]orders.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []orders.AuditEntry
	for i := len(r.ops.audit) - 1; i >= 0 && len(out) < f.Limit; i-- {
		e := r.ops.audit[i]
		if f.StoreID != "" && e.StoreID != f.StoreID {
			continue
		}
		e.Cancelled = slices.Clone(e.Cancelled)
		out = append(out, e)
	}
	return out, nil
}

// RecordMissedAcks records tickets not acknowledged in time, once per order.
func (r *Repository) RecordMissedAcks(ctx context.Context, ms []orders.MissedAck) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ops.missed == nil {
		r.ops.missed = map[string]orders.MissedAck{}
	}
	for _, m := range ms {
		if _, ok := r.ops.missed[m.OrderID]; !ok {
			r.ops.missed[m.OrderID] = m
		}
	}
	return nil
}

// MissedAcks counts each store's misses at or after since.
func (r *Repository) MissedAcks(ctx context.Context, since time.Time) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := map[string]int{}
	for _, m := range r.ops.missed {
		if !m.At.Before(since) {
			out[m.StoreID]++
		}
	}
	return out, nil
}
