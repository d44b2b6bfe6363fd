package dispatch

import (
	"context"
	"time"

	"zhengxiang/orders"
)

// Smart lockers. An order to a locker takes a slot of it when a rider
// accepts the trip that carries it: the slots are reserved, all or none,
// before the acceptance is written, without the engine's lock, and given
// back if the write fails. From then on the record gives the slot back with
// the change that ends the order's claim (orders.FreesSlot): a cancellation,
// a withdrawn offer or reassignment, a failed delivery, or the consumer's
// confirmation that the goods were taken out.
//
// A locker whose slots are all held when the rider accepts is never
// over-booked: the acceptance is refused (KindConflict, naming the locker),
// the offer withdrawn, the trip's other orders go back to the pending pool
// at once, and the order of the full locker waits SlotWait before it is
// offered again, by when a slot may be free.

// SlotWait is how long an order whose locker was full at the rider's
// acceptance waits, on the engine's clock, before it is offered again.
const SlotWait = 5 * time.Minute

// slotClaim is an order of an accepted trip and the locker it takes a slot of.
type slotClaim struct{ order, locker string }

// lockerOf returns the locker whose slot an order takes at dispatch: its
// drop site when the consumer chose a locker, "" otherwise.
func lockerOf(o orders.Order) string {
	if o.DropoffMethod == orders.HandoverLocker {
		return o.DropoffSiteID
	}
	return ""
}

// claims returns the slots that the acceptance of t takes; the engine's
// lock is held.
func claims(t *trip) []slotClaim {
	var out []slotClaim
	for _, o := range t.orders {
		if o.locker != "" {
			out = append(out, slotClaim{o.id, o.locker})
		}
	}
	return out
}

// reserveSlots reserves the slots of an accepted trip's claims, without the
// engine's lock: all of them, or none and the step's error. A full locker
// is a KindConflict, and the step's full lists the order that waits.
func (e *Engine) reserveSlots(ctx context.Context, s *step) error {
	ds, ok := e.repo.(orders.DropSiteStore)
	if !ok || len(s.claims) == 0 {
		return nil
	}
	var took []string
	for _, c := range s.claims {
		ok, err := ds.ReserveSlot(ctx, c.locker, c.order)
		if err == nil && !ok {
			s.full = append(s.full, c.order)
			err = orders.Conflict("locker %s is full: order %s waits for a slot, the offer is withdrawn", c.locker, c.order)
		}
		if err != nil {
			e.releaseSlots(ctx, took)
			return err
		}
		took = append(took, c.order)
	}
	return nil
}

// releaseSlots gives back the slots of orders whose acceptance was not
// written; the record frees the others.
func (e *Engine) releaseSlots(ctx context.Context, ids []string) {
	ds, ok := e.repo.(orders.DropSiteStore)
	if !ok {
		return
	}
	for _, id := range ids {
		if err := ds.ReleaseSlot(ctx, id); err != nil {
			e.log.Error("release a locker slot", "order", id, "err", err)
		}
	}
}

// lockerFull withdraws the offer of an acceptance refused for a full
// locker; the engine's lock is held. The orders of the full locker wait
// SlotWait before they are offered again.
func (e *Engine) lockerFull(s *step) {
	t := s.t
	if e.trips[t.id] != t || t.state != tripOffered {
		return
	}
	due := e.min(s.at) + SlotWait.Minutes()
	for _, o := range t.orders {
		for _, id := range s.full {
			if o.id == id {
				o.waitSlot = true
				e.waiting = append(e.waiting, waitingOrder{o, due})
			}
		}
	}
	e.withdraw(context.WithoutCancel(s.ctx), t, "locker full")
}

// waitingOrder is an order waiting for a slot of its locker until due.
type waitingOrder struct {
	o   *orderState
	due float64
}

// wake puts the orders whose wait for a slot is over back in the pending
// pool; the engine's lock is held.
func (e *Engine) wake() {
	if len(e.waiting) == 0 {
		return
	}
	now := e.min(e.clock.Now())
	kept := e.waiting[:0]
	for _, w := range e.waiting {
		if w.due > now {
			kept = append(kept, w)
			continue
		}
		w.o.waitSlot = false
		e.requeue(w.o)
	}
	e.waiting = kept
}
