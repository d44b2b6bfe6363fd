package dispatch

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"zhengxiang/orders"
)

// A rider's steps on a trip (yes or no to the offer, at the store, picked
// up, at a door, delivered) go through the engine the same way: checked
// under the engine's lock with every other step waiting, the trip then held
// so that no round or operator changes it meanwhile; written without the
// lock, many riders' steps in one grouped write; and finished under the lock
// again. At a peak thousands of riders answer and move every second: none of
// them waits for the lock on its own, and no round waits for their writes.

// stepKind is what a rider did.
type stepKind int

const (
	stepAccept stepKind = iota
	stepDecline
	stepArrive // at the store
	stepPickUp
	stepAtDoor
	stepDeliver
)

var stepVerbs = [...]string{
	stepAccept: "accept", stepDecline: "decline", stepArrive: "arrive for",
	stepPickUp: "pick up", stepAtDoor: "arrive at the door for", stepDeliver: "deliver",
}

// step is a rider's step on its way through the engine.
type step struct {
	ctx   context.Context
	kind  stepKind
	rider string
	trip  string         // the trip (yes, no, at the store, picked up), or
	order string         // the order (at its door, delivered)
	drop  orders.Dropoff // how a delivery was handed over
	at    time.Time
	t     *trip       // held from the check to the finish
	o     *orderState // the order of a step at a door
	// claims are the locker slots an acceptance takes, full the orders
	// whose locker had none free (locker.go).
	claims []slotClaim
	full   []string
	err    error
	done   chan error
}

// Accept takes a rider's yes to an offer: the trip joins its plan.
func (e *Engine) Accept(ctx context.Context, riderID, tripID string) error {
	return e.step(ctx, &step{kind: stepAccept, rider: riderID, trip: tripID})
}

// Decline takes a rider's no: the orders go back to the next round, which
// will not offer them to this rider again.
func (e *Engine) Decline(ctx context.Context, riderID, tripID string) error {
	return e.step(ctx, &step{kind: stepDecline, rider: riderID, trip: tripID})
}

// ArriveAtPickup records that the rider is at the store of a trip.
func (e *Engine) ArriveAtPickup(ctx context.Context, riderID, tripID string) error {
	return e.step(ctx, &step{kind: stepArrive, rider: riderID, trip: tripID})
}

// PickUp records that the rider has collected every order of the trip.
// An order the store has not marked ready cannot be picked up.
func (e *Engine) PickUp(ctx context.Context, riderID, tripID string) error {
	return e.step(ctx, &step{kind: stepPickUp, rider: riderID, trip: tripID})
}

// ArriveAtDropoff records that the rider is at an order's door.
func (e *Engine) ArriveAtDropoff(ctx context.Context, riderID, orderID string) error {
	return e.step(ctx, &step{kind: stepAtDoor, rider: riderID, order: orderID})
}

// Deliver records a drop-off. When it is the trip's last, the rider is free
// for its next trip.
func (e *Engine) Deliver(ctx context.Context, riderID, orderID string, h orders.Handover) error {
	return e.DeliverWith(ctx, riderID, orderID, orders.Dropoff{Handover: h})
}

// DeliverWith records a drop-off with its proof (a locker's code, a photo),
// as Deliver does.
func (e *Engine) DeliverWith(ctx context.Context, riderID, orderID string, d orders.Dropoff) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return e.step(ctx, &step{kind: stepDeliver, rider: riderID, order: orderID, drop: d})
}

// step hands a rider's step to the engine and waits until it is recorded.
func (e *Engine) step(ctx context.Context, s *step) error {
	s.ctx, s.at, s.done = ctx, e.clock.Now(), make(chan error, 1)
	e.inMu.Lock()
	e.steps = append(e.steps, s)
	e.inMu.Unlock()
	e.nudge()
	select {
	case err := <-s.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// nudge takes the engine's lock if no one holds it, so that what waits for
// it is taken in at once; a holder takes it in anyway when it lets go.
func (e *Engine) nudge() {
	if e.mu.TryLock() {
		e.unlock()
	}
}

// unlock takes in the riders' steps that came while the lock was held and
// lets it go; steps that come just after are taken in by whoever holds the
// lock next, or here if no one does, so that none waits for a round.
func (e *Engine) unlock() {
	for {
		e.admit()
		e.mu.Unlock()
		e.inMu.Lock()
		waiting := len(e.steps) > 0 || len(e.written) > 0
		e.inMu.Unlock()
		if !waiting || !e.mu.TryLock() {
			return
		}
	}
}

// hold checks a step against the engine's state and holds its trip; it
// returns the orders the step changes.
func (e *Engine) hold(s *step) ([]string, error) {
	if s.order != "" {
		o := e.orders[s.order]
		if o == nil || o.trip == nil || o.trip.rider.id != s.rider {
			return nil, orders.Forbidden("order %s is not carried by rider %s", s.order, s.rider)
		}
		s.t, s.o = o.trip, o
	} else {
		t, err := e.trip(s.rider, s.trip)
		if err != nil {
			return nil, err
		}
		s.t = t
	}
	t := s.t
	if t.busy {
		return nil, busy("trip %s", t.id)
	}
	switch s.kind {
	case stepAccept, stepDecline:
		if t.state != tripOffered {
			return nil, orders.Conflict("trip %s is not an open offer", t.id)
		}
		if e.min(s.at) > t.expires {
			e.expire(s.ctx, t)
			return nil, orders.Conflict("offer %s expired", t.id)
		}
		if s.kind == stepAccept {
			s.claims = claims(t)
		}
	case stepArrive:
		if t.state != tripAssigned {
			return nil, orders.Conflict("trip %s: rider is not on the way to the store", t.id)
		}
	case stepPickUp:
		if t.state != tripAtStore && t.state != tripAssigned {
			return nil, orders.Conflict("trip %s: nothing to pick up", t.id)
		}
		for _, o := range t.orders {
			if math.IsNaN(o.readyAt) {
				return nil, orders.Conflict("trip %s: order %s is not ready", t.id, o.id)
			}
		}
	}
	t.busy = true
	if s.o != nil {
		return []string{s.o.id}, nil
	}
	return t.orderIDs(), nil
}

// change is the step's transition of one of its orders.
func (s *step) change(x *orders.Order) (orders.Event, error) {
	switch s.kind {
	case stepAccept:
		return x.AcceptOffer(s.at, s.rider)
	case stepDecline:
		return x.DeclineOffer(s.at, s.rider)
	case stepArrive:
		return x.ArriveAtPickup(s.at, s.rider)
	case stepPickUp:
		return x.PickUp(s.at, s.rider)
	case stepAtDoor:
		return x.ArriveAtDropoff(s.at, s.rider)
	default:
		return x.DeliverWith(s.at, s.rider, s.drop)
	}
}

// takeSteps checks the riders' steps, holds their trips, and writes them,
// all in one grouped write, without the lock.
func (e *Engine) takeSteps(ss []*step) {
	var ids []string
	byOrder := map[string]*step{}
	var taken []*step
	for _, s := range ss {
		os, err := e.hold(s)
		if err != nil {
			s.done <- err
			continue
		}
		taken = append(taken, s)
		ids = append(ids, os...)
		for _, id := range os {
			byOrder[id] = s
		}
	}
	if len(taken) == 0 {
		return
	}
	go func() {
		ctx := context.Background()
		// An acceptance takes its locker slots first; one refused writes
		// nothing.
		for _, s := range taken {
			if s.kind == stepAccept {
				s.err = e.reserveSlots(ctx, s)
			}
		}
		ids := slices.DeleteFunc(ids, func(id string) bool { return byOrder[id].err != nil })
		var errs []error
		if len(ids) > 0 {
			// A held trip is changed by one step only, so an order is in at
			// most one step of the write.
			errs = e.grouped(ctx, &e.riderLane, ids, oneEvent(func(x *orders.Order) (orders.Event, error) {
				return byOrder[x.ID].change(x)
			}))
		}
		var unwritten []string
		for i, err := range errs {
			if s := byOrder[ids[i]]; err != nil && s.kind == stepAccept {
				unwritten = append(unwritten, ids[i])
			}
		}
		e.releaseSlots(ctx, unwritten)
		for i, err := range errs {
			if s := byOrder[ids[i]]; err != nil && s.err == nil {
				what := "trip " + s.trip
				if s.order != "" {
					what = "order " + s.order
				}
				s.err = fmt.Errorf("%s %s: order %s: %w", stepVerbs[s.kind], what, ids[i], err)
			}
		}
		e.inMu.Lock()
		e.written = append(e.written, taken...)
		e.inMu.Unlock()
		e.nudge()
	}()
}

// settleSteps finishes the steps written and lets their trips go.
func (e *Engine) settleSteps(ss []*step) {
	for _, s := range ss {
		s.t.busy = false
		if s.err == nil {
			s.err = e.settle(s)
		} else if len(s.full) > 0 {
			e.lockerFull(s)
		}
		s.done <- s.err
	}
}

// settle brings the engine's state after a step recorded.
func (e *Engine) settle(s *step) error {
	t := s.t
	if e.trips[t.id] != t {
		// The engine's areas changed hands meanwhile (Own).
		return orders.Conflict("trip %s was taken back", t.id)
	}
	now := e.min(s.at)
	switch s.kind {
	case stepAccept, stepDecline:
		if t.state != tripOffered {
			return orders.Conflict("trip %s has no order left", t.id)
		}
		if s.kind == stepDecline {
			e.release(t)
			e.stats.Declined++
			return nil
		}
		r := t.rider
		r.offer = nil
		t.state = tripAssigned
		t.acceptedAt, t.origin, t.depart = now, r.pos, math.Max(now, r.freeAt)
		r.plan = append(r.plan, t)
		e.improveLater(t, now)
		e.stats.Accepted++
	case stepArrive:
		t.state = tripAtStore
		t.arrived = now
		t.rider.pos = t.store.point
	case stepPickUp:
		t.state = tripPickedUp
		t.pickup = now
	case stepAtDoor:
		return nil
	case stepDeliver:
		e.dropped(t, s.o, now)
	}
	e.replan(t.rider)
	return nil
}

// dropped marks an order of t delivered at minute now; when it is the
// trip's last, the rider is free for its next trip.
func (e *Engine) dropped(t *trip, o *orderState, now float64) {
	o.delivered, o.ended = true, true
	t.rider.pos = o.drop
	for i := t.nextDrop; i < len(t.orders); i++ {
		if t.orders[i] == o {
			// Keep the drop-off order: what was skipped comes next.
			copy(t.orders[t.nextDrop+1:i+1], t.orders[t.nextDrop:i])
			t.orders[t.nextDrop] = o
			t.drops[t.nextDrop] = now
			t.nextDrop++
			break
		}
	}
	if t.nextDrop == len(t.orders) {
		e.finishTrip(t)
	}
}
