package dispatch

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"zhengxiang/orders"
)

// Suspensions (the festival plan's 立即下架: stop selling at once and clear
// out). A store, or one product of it, is suspended in the record first;
// then, under the engine's lock, the engine refuses new orders for it and
// cancels every order it holds that it catches and that has not been picked
// up, releasing their riders: an open offer loses them, a rider on the way
// to the store or at it loses them from its trip. A trip whose rider's step
// is being recorded at that moment (busy) is waited for: the step is either a
// pickup, and the trip then finishes, or anything else, and its orders are
// cancelled once it is recorded. When Suspend returns, every order it caught
// has ended or is on the road, so no round offers one again; an order that
// was being recorded when the suspension came is cancelled as the engine
// takes it in, and one that a crash left behind is cancelled by Restore.

// stop is a suspension in force, as the engine keeps it with its store.
type stop struct {
	actor, reason string
	audit         int64 // its audit entry, where late cancellations are noted
}

// stopReason is the reason recorded on the orders a suspension cancels.
func stopReason(sku, reason string) string {
	if sku == "" {
		return "store suspended: " + reason
	}
	return "product " + sku + " suspended: " + reason
}

// setSKUs keeps the products of order o, each once, for suspensions of one
// of them: in the order's state itself when they fit.
func (s *orderState) setSKUs(o orders.Order) {
	s.skus = s.inSKUs[:0]
	for _, it := range o.Items {
		if !slices.Contains(s.skus, it.SKU) {
			s.skus = append(s.skus, it.SKU)
		}
	}
}

// admits tells whether the engine takes a new order: its store takes orders
// (admissible) and none of its products is suspended. A suspended product
// is KindInvalid on the item's sku (items[i].sku).
func (e *Engine) admits(o orders.Order) error {
	if err := e.admissible(o.StoreID); err != nil {
		return err
	}
	e.storesMu.RLock()
	defer e.storesMu.RUnlock()
	st := e.stores[o.StoreID]
	if len(st.stops) == 0 {
		return nil
	}
	for i, it := range o.Items {
		if s, ok := st.stops[it.SKU]; ok && it.SKU != "" {
			return orders.Invalid(fmt.Sprintf("items[%d].sku", i), "product %s of store %s is suspended: %s", it.SKU, o.StoreID, s.reason)
		}
	}
	return nil
}

// stopOf returns the suspension in force that catches an order, if any;
// the engine's lock is held.
func (e *Engine) stopOf(o *orderState) (stop, string, bool) {
	st := o.store
	if st == nil {
		return stop{}, "", false
	}
	e.storesMu.RLock()
	defer e.storesMu.RUnlock()
	if s, ok := st.stops[""]; ok {
		return s, "", true
	}
	if st.suspended {
		// Suspended by AddStore (a store recorded suspended), without a reason.
		return stop{actor: orders.ActorSystem, reason: "no reason recorded"}, "", true
	}
	for _, sku := range o.skus {
		if s, ok := st.stops[sku]; ok && sku != "" {
			return s, sku, true
		}
	}
	return stop{}, "", false
}

// Suspend stops the sales of a store (s.SKU empty) or of one of its
// products at once: it records the suspension and its audit entry, refuses
// new orders for it from then on, and cancels the orders it catches that
// have not been picked up, on behalf of s.Actor with s.Reason (prefixed
// "store suspended: " or "product SKU suspended: "), releasing their
// riders. Orders on the road finish. It returns the audit entry with the
// orders cancelled, which it notes there too. s.At defaults to the clock's
// time. Suspending what is suspended records the new reason and clears out
// what is left. An unknown store is KindNotFound; a repository that keeps no
// suspensions is KindUnavailable.
func (e *Engine) Suspend(ctx context.Context, s orders.Suspension) (orders.AuditEntry, error) {
	ss, ok := e.repo.(orders.SuspensionStore)
	if !ok {
		return orders.AuditEntry{}, orders.Unavailable("the record keeps no suspensions")
	}
	if s.At.IsZero() {
		s.At = e.clock.Now()
	}
	entry, err := ss.Suspend(ctx, s)
	if err != nil {
		return orders.AuditEntry{}, err
	}
	in := stop{actor: s.Actor, reason: s.Reason, audit: entry.ID}
	e.lock()
	e.storesMu.Lock()
	if st := e.stores[s.StoreID]; st != nil {
		if st.stops == nil {
			st.stops = map[string]stop{}
		}
		st.stops[s.SKU] = in
		if s.SKU == "" {
			st.suspended = true
		}
	}
	e.storesMu.Unlock()
	cuts, err := e.clearOut(ctx, func(o *orderState) (stop, string, bool) {
		if o.store == nil || o.store.id != s.StoreID || (s.SKU != "" && !slices.Contains(o.skus, s.SKU)) {
			return stop{}, "", false
		}
		return in, s.SKU, true
	})
	e.unlock()
	for _, c := range cuts {
		entry.Cancelled = append(entry.Cancelled, c.order)
	}
	if len(entry.Cancelled) > 0 {
		if nerr := ss.NoteCancelled(context.WithoutCancel(ctx), entry.ID, entry.Cancelled); nerr != nil && err == nil {
			err = fmt.Errorf("note the orders cancelled by suspension #%d: %w", entry.ID, nerr)
		}
	}
	if err != nil {
		return entry, fmt.Errorf("suspend %s: %w", s.What(), err)
	}
	e.log.Info("suspended", "store", s.StoreID, "sku", s.SKU, "actor", s.Actor, "reason", s.Reason, "cancelled", len(entry.Cancelled))
	return entry, nil
}

// Lift lets a suspended store (s.SKU empty) or product sell again, and
// records the restore, on behalf of s.Actor with s.Reason, in the audit. It
// returns the audit entry. A stop not in force is KindConflict.
func (e *Engine) Lift(ctx context.Context, s orders.Suspension) (orders.AuditEntry, error) {
	ss, ok := e.repo.(orders.SuspensionStore)
	if !ok {
		return orders.AuditEntry{}, orders.Unavailable("the record keeps no suspensions")
	}
	if s.At.IsZero() {
		s.At = e.clock.Now()
	}
	entry, err := ss.Lift(ctx, s)
	if err != nil {
		return orders.AuditEntry{}, err
	}
	e.storesMu.Lock()
	if st := e.stores[s.StoreID]; st != nil {
		delete(st.stops, s.SKU)
		if s.SKU == "" {
			st.suspended = false
		}
	}
	e.storesMu.Unlock()
	e.log.Info("restored", "store", s.StoreID, "sku", s.SKU, "actor", s.Actor, "reason", s.Reason)
	return entry, nil
}

// SuspendedSKUs returns the products of a store that are suspended.
func (e *Engine) SuspendedSKUs(storeID string) []string {
	e.storesMu.RLock()
	defer e.storesMu.RUnlock()
	st := e.stores[storeID]
	if st == nil {
		return nil
	}
	var out []string
	for sku := range st.stops {
		if sku != "" {
			out = append(out, sku)
		}
	}
	sort.Strings(out)
	return out
}

// cut is an order a suspension cancelled.
type cut struct {
	order string
	audit int64
}

// clearOut cancels every order that catch catches and that is not on the
// road, as the suspension it returns says, and returns them. A trip whose
// rider's step is being recorded is waited for, the engine's lock let go
// meanwhile: its orders are looked at again once the step is recorded, until
// none is left. The engine's lock is held on entry and on return.
func (e *Engine) clearOut(ctx context.Context, catch func(o *orderState) (stop, string, bool)) ([]cut, error) {
	var out []cut
	leave := map[*orderState]bool{} // the record would not cancel them: looked at once
	for wait := time.Millisecond; ; wait = min(2*wait, 20*time.Millisecond) {
		type due struct {
			o   *orderState
			s   stop
			sku string
		}
		var dues []due
		held := false
		for _, o := range e.orders {
			if o.ended || leave[o] {
				continue
			}
			if t := o.trip; t != nil && (t.state == tripPickedUp || t.state == tripDone) {
				continue // on the road: it finishes
			}
			s, sku, ok := catch(o)
			if !ok {
				continue
			}
			if o.trip != nil && o.trip.busy {
				held = true
				continue
			}
			dues = append(dues, due{o, s, sku})
		}
		sort.Slice(dues, func(i, j int) bool { return dues[i].o.id < dues[j].o.id })
		// One write for each reason: a suspension's orders share theirs.
		for len(dues) > 0 {
			s, sku := dues[0].s, dues[0].sku
			var batch []*orderState
			rest := dues[:0]
			for _, d := range dues {
				if d.s == s && d.sku == sku {
					batch = append(batch, d.o)
				} else {
					rest = append(rest, d)
				}
			}
			dues = rest
			now := e.clock.Now()
			reason := stopReason(sku, s.reason)
			done, kept, err := e.endAll(ctx, batch, func(x *orders.Order) (orders.Event, error) { return x.Cancel(now, s.actor, reason) })
			for _, o := range done {
				out = append(out, cut{o.id, s.audit})
			}
			for _, o := range kept {
				leave[o] = true
			}
			if err != nil {
				return out, err
			}
		}
		if !held {
			return out, nil
		}
		e.unlock()
		select {
		case <-ctx.Done():
			e.lock()
			return out, ctx.Err()
		case <-time.After(wait):
		}
		e.lock()
	}
}

// endAll applies a change that ends orders before pickup (a cancellation,
// an auto-cancellation) to each of os in one write, takes those it ended out
// of their trips, and replans their riders. It returns the orders ended,
// those the record refused with a conflict (it has moved on: they are left
// as they are, or taken as ended when the record says so), and the first
// other error. The engine's lock is held.
func (e *Engine) endAll(ctx context.Context, os []*orderState, fn func(x *orders.Order) (orders.Event, error)) (done, kept []*orderState, err error) {
	ids := make([]string, len(os))
	for i, o := range os {
		ids[i] = o.id
	}
	errs := e.updateMany(ctx, ids, oneEvent(fn))
	riders := map[*riderState]bool{}
	end := func(o *orderState) {
		if o.trip != nil {
			riders[o.trip.rider] = true
		}
		e.dropFromTrip(o)
		o.ended = true
	}
	for i, o := range os {
		switch {
		case errs[i] == nil:
			end(o)
			e.stats.Cancelled++
			done = append(done, o)
		case orders.IsKind(errs[i], orders.KindConflict):
			kept = append(kept, o)
			if x, gerr := e.repo.GetOrder(ctx, o.id); gerr == nil && !x.Active() {
				end(o)
			}
		case err == nil:
			err = fmt.Errorf("end order %s: %w", o.id, errs[i])
		}
	}
	for r := range riders {
		e.replan(r)
	}
	return done, kept, err
}

// admitted looks at an order as the engine takes it in, under its lock: it
// starts waiting for its store's acknowledgement, unless a suspension
// catches it, in which case it is cancelled at once (it was being recorded
// when the suspension came) and false is returned.
func (e *Engine) admitted(o *orderState) bool {
	s, sku, ok := e.stopOf(o)
	if !ok {
		e.watchAck(o)
		return true
	}
	ctx := context.Background()
	now := e.clock.Now()
	done, _, err := e.endAll(ctx, []*orderState{o}, func(x *orders.Order) (orders.Event, error) {
		return x.Cancel(now, s.actor, stopReason(sku, s.reason))
	})
	if err != nil {
		// Restore cancels it after a restart; until then it is not offered.
		e.log.Error("cancel an order of a suspension", "order", o.id, "err", err)
		o.ended = true
	}
	if ss, ok := e.repo.(orders.SuspensionStore); ok && len(done) == 1 && s.audit != 0 {
		if err := ss.NoteCancelled(ctx, s.audit, []string{o.id}); err != nil {
			e.log.Error("note an order cancelled by a suspension", "order", o.id, "audit", s.audit, "err", err)
		}
	}
	return false
}

// restored takes an order Restore read back from the record into the
// engine's state: its products, and its wait for its store's
// acknowledgement.
func (e *Engine) restored(os *orderState, o orders.Order) {
	os.setSKUs(o)
	if o.Status == orders.StatusCreated || o.Status == orders.StatusTicketSent {
		e.watchAck(os)
	}
}

// restoreStops reads the suspensions in force back from the record, at the
// end of Restore with the engine's lock held, and cancels the orders they
// catch that are not on the road: those a crash left between the suspension
// and its cancellations, and those a suspension by another dispatcher
// caught.
func (e *Engine) restoreStops(ctx context.Context) error {
	ss, ok := e.repo.(orders.SuspensionStore)
	if !ok {
		return nil
	}
	in, err := ss.Suspensions(ctx)
	if err != nil {
		return fmt.Errorf("restore suspensions: %w", err)
	}
	e.storesMu.Lock()
	for _, st := range e.stores {
		st.stops = nil
	}
	for _, s := range in {
		st := e.stores[s.StoreID]
		if st == nil {
			continue
		}
		if st.stops == nil {
			st.stops = map[string]stop{}
		}
		st.stops[s.SKU] = stop{actor: s.Actor, reason: s.Reason, audit: s.AuditID}
	}
	e.storesMu.Unlock()
	cuts, err := e.clearOut(ctx, e.stopOf)
	byAudit := map[int64][]string{}
	for _, c := range cuts {
		if c.audit != 0 {
			byAudit[c.audit] = append(byAudit[c.audit], c.order)
		}
	}
	for id, list := range byAudit {
		if nerr := ss.NoteCancelled(ctx, id, list); nerr != nil && err == nil {
			err = nerr
		}
	}
	if len(cuts) > 0 {
		e.log.Info("restore: orders of suspensions cancelled", "orders", len(cuts))
	}
	if err != nil {
		return fmt.Errorf("restore suspensions: %w", err)
	}
	return nil
}
