package dispatch

import (
	"context"
	"fmt"
	"math"
	"sort"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// Restore rebuilds the engine's picture from its repository, as after a
// restart or when this dispatcher takes over another's orders: the stores,
// the riders on shift at their last known position, and every active order.
// Orders waiting for a rider go back to the pending pool; an open offer is
// taken back (its rider may never see it again) and offered anew; orders a
// rider holds become that rider's trips again, one per store, picked-up ones
// first. Restore may be called on a running engine: orders it already knows
// are left as they are.
func (e *Engine) Restore(ctx context.Context) error {
	stores, err := e.repo.ListStores(ctx)
	if err != nil {
		return fmt.Errorf("restore stores: %w", err)
	}
	riders, err := e.repo.ListRiders(ctx)
	if err != nil {
		return fmt.Errorf("restore riders: %w", err)
	}
	active, err := e.repo.ListOrders(ctx, orders.OrderFilter{Active: true})
	if err != nil {
		return fmt.Errorf("restore orders: %w", err)
	}
	now := e.clock.Now()
	cards, err := e.cardsOfToday(ctx, now)
	if err != nil {
		return fmt.Errorf("restore riders: %w", err)
	}
	e.lock()
	defer e.unlock()
	if cards != nil {
		e.cards.readWhole(orders.DayOf(now), now) // the rounds need not read them again (readCards)
	}
	e.storesMu.Lock()
	for _, s := range stores {
		st := e.stores[s.ID]
		if st == nil {
			st = &storeState{id: s.ID}
			e.stores[s.ID] = st
		}
		st.point, st.suspended = s.Point, s.Suspended
	}
	e.storesMu.Unlock()
	// With owned areas, the riders of other areas come only for the trips
	// of this engine's orders they hold, and the riders of its own areas
	// holding other areas' orders are kept from new offers.
	ours := func(p geo.Point) bool { return e.owns == nil || e.owns(p) }
	holds := map[string]bool{} // riders holding an order of ours
	away := map[string]bool{}  // riders holding an order of another area
	for _, o := range active {
		if o.RiderID == "" || o.Delivery == orders.DeliveryOffered {
			continue
		}
		if ours(o.Dropoff) {
			holds[o.RiderID] = true
		} else {
			away[o.RiderID] = true
		}
	}
	for _, r := range riders {
		if !r.OnShift || e.riders[r.ID] != nil {
			continue
		}
		home := ours(r.Point)
		if !home && !holds[r.ID] {
			continue
		}
		rs := &riderState{id: r.ID, capacity: r.Capacity, onShift: true, pos: r.Point, shiftEnd: math.Inf(1)}
		if rs.capacity <= 0 {
			rs.capacity = e.cfg.DefaultCapacity
		}
		rs.shiftStart = e.min(r.ShiftStart)
		if !r.ShiftEnd.IsZero() {
			rs.shiftEnd = e.min(r.ShiftEnd)
		}
		rs.elsewhere = !home || away[r.ID]
		if c, ok := cards[r.ID]; ok {
			e.giveCard(rs, c)
		}
		e.riders[r.ID] = rs
		e.onShift++
		e.touch(rs)
		e.rlist = append(e.rlist, rs)
		ping := r.LastPing
		if ping.IsZero() {
			ping = now
		}
		e.know(rs, r.Point, ping)
	}

	type tripKey struct {
		rider, store string
		picked       bool
	}
	held := map[tripKey][]*orderState{}
	var keys []tripKey
	for _, o := range active {
		if e.orders[o.ID] != nil || !ours(o.Dropoff) {
			continue
		}
		st := e.stores[o.StoreID]
		if st == nil {
			e.log.Error("restore: order of an unknown store", "order", o.ID, "store", o.StoreID)
			continue
		}
		os := &orderState{
			id: o.ID, store: st, drop: o.Dropoff,
			placed: e.min(o.PlacedAt), ready: e.min(o.ReadyAt), readyAt: math.NaN(), promise: e.min(o.PromiseAt),
			made: o.Section == orders.SectionMade, locker: lockerOf(o),
		}
		if o.Status == orders.StatusReadyForPickup {
			os.readyAt = e.min(o.ReadyMarkedAt)
		}
		e.orders[o.ID] = os
		e.restored(os, o)
		switch o.Delivery {
		case orders.DeliveryOffered:
			if _, err := e.repo.UpdateOrder(ctx, o.ID, func(x *orders.Order) ([]orders.Event, error) {
				ev, err := x.Reassign(now, "dispatcher restarted: offer renewed")
				return []orders.Event{ev}, err
			}); err != nil {
				return fmt.Errorf("restore order %s: %w", o.ID, err)
			}
			e.requeue(os)
		case orders.DeliveryAssigned, orders.DeliveryArrivedAtPickup, orders.DeliveryPickedUp, orders.DeliveryArrivedAtDropoff:
			if e.riders[o.RiderID] == nil {
				e.log.Error("restore: order held by a rider off shift", "order", o.ID, "rider", o.RiderID)
			}
			k := tripKey{o.RiderID, o.StoreID, o.Delivery == orders.DeliveryPickedUp || o.Delivery == orders.DeliveryArrivedAtDropoff}
			if _, ok := held[k]; !ok {
				keys = append(keys, k)
			}
			held[k] = append(held[k], os)
		default:
			e.requeue(os)
		}
	}
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].picked && !keys[j].picked })
	for _, k := range keys {
		r := e.riders[k.rider]
		if r == nil {
			continue
		}
		os := held[k]
		t := newTrip(os)
		t.id, t.rider, t.store, t.state = e.newTripID(), r, os[0].store, tripAssigned
		t.acceptedAt, t.origin, t.depart, t.arrived = e.min(now), r.pos, e.min(now), math.NaN()
		if k.picked {
			t.state, t.pickup = tripPickedUp, e.min(now)-e.travel.PickupMinutes()/2
		}
		for _, o := range os {
			o.trip = t
		}
		e.trips[t.id] = t
		r.plan = append(r.plan, t)
		if t.state == tripAssigned {
			e.improveLater(t, t.acceptedAt)
		}
		e.replan(r)
	}
	return e.restoreStops(ctx)
}
