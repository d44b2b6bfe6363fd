package dispatch

import (
	"context"
	"math"
	"sync"
	"time"

	"zhengxiang/orders"
)

// Merchants' acknowledgements. With Config.AckTimeout set, a ticket that
// its store has neither accepted nor rejected within AckTimeout of the
// order's placement is auto-cancelled by the next round on the engine's
// clock, with the reason NoResponse, and its rider, if one was offered it or
// holds it, is released. Each such miss is recorded (orders.AckStore); a store with
// AckMisses of them within AckWindow is flagged to the operators.

// NoResponse is the reason of an order auto-cancelled because its store did
// not acknowledge the ticket in time.
const NoResponse = "merchant no response"

// ackState holds the orders waiting for their store's acknowledgement.
type ackState struct {
	// due is guarded by the engine's lock: the orders by the minute their
	// wait runs out.
	due dueQueue[*orderState]
	// mu guards accepted: the orders their store accepted, and when, noted
	// without the engine's lock as the answers come.
	mu       sync.Mutex
	accepted map[string]time.Time
}

// watchAck starts an order's wait for its store's acknowledgement, counted
// from its placement; the engine's lock is held.
func (e *Engine) watchAck(o *orderState) {
	if e.cfg.AckTimeout <= 0 {
		return
	}
	e.acks.due.push(o.placed+e.cfg.AckTimeout.Minutes(), o)
}

// noteAccepted keeps aside that a store accepted an order, for the round
// that would otherwise auto-cancel it.
func (e *Engine) noteAccepted(orderID string) {
	if e.cfg.AckTimeout <= 0 {
		return
	}
	e.acks.mu.Lock()
	if e.acks.accepted == nil {
		e.acks.accepted = map[string]time.Time{}
	}
	e.acks.accepted[orderID] = e.clock.Now()
	e.acks.mu.Unlock()
}

// acceptedKept bounds the answers kept for orders this engine does not
// wait for (another dispatcher's): past it, those older than twice the
// timeout are dropped.
const acceptedKept = 4096

// autoCancel auto-cancels, in a round at minute now with the engine's lock
// held, the orders whose wait for acknowledgement ran out, records the
// misses, and returns the orders cancelled. An order whose trip is being
// written is looked at again in the next round.
func (e *Engine) autoCancel(ctx context.Context, now float64) []string {
	if e.cfg.AckTimeout <= 0 || !e.acks.due.dueBy(now) {
		return nil
	}
	var due, later []*orderState
	e.acks.mu.Lock()
	for {
		_, o, ok := e.acks.due.pop(now)
		if !ok {
			break
		}
		_, accepted := e.acks.accepted[o.id]
		delete(e.acks.accepted, o.id)
		switch {
		case o.ended || accepted || !math.IsNaN(o.readyAt) || e.orders[o.id] != o:
			// Answered, ended, or forgotten (the areas changed hands).
		case o.trip != nil && o.trip.busy:
			later = append(later, o)
		default:
			due = append(due, o)
		}
	}
	if len(e.acks.accepted) > acceptedKept {
		old := e.clock.Now().Add(-2 * e.cfg.AckTimeout)
		for id, at := range e.acks.accepted {
			if at.Before(old) {
				delete(e.acks.accepted, id)
			}
		}
	}
	e.acks.mu.Unlock()
	for _, o := range later {
		e.acks.due.push(now, o)
	}
	if len(due) == 0 {
		return nil
	}
	at := e.at(now)
	done, _, err := e.endAll(ctx, due, func(x *orders.Order) (orders.Event, error) { return x.AutoCancel(at, NoResponse) })
	if err != nil {
		// The orders not written wait for the next round.
		e.log.Error("auto-cancel unacknowledged orders", "err", err)
		for _, o := range due {
			if !o.ended {
				e.acks.due.push(now, o)
			}
		}
	}
	if len(done) == 0 {
		return nil
	}
	ids := make([]string, len(done))
	misses := make([]orders.MissedAck, len(done))
	stores := map[string]bool{}
	for i, o := range done {
		ids[i] = o.id
		misses[i] = orders.MissedAck{OrderID: o.id, StoreID: o.store.id, At: at}
		stores[o.store.id] = true
	}
	if as, ok := e.repo.(orders.AckStore); ok {
		if err := as.RecordMissedAcks(ctx, misses); err != nil {
			e.log.Error("record missed acknowledgements", "orders", len(misses), "err", err)
		} else if counts, err := as.MissedAcks(ctx, at.Add(-e.cfg.AckWindow)); err == nil {
			for id := range stores {
				if counts[id] >= e.cfg.AckMisses {
					e.log.Warn("store keeps missing tickets", "store", id, "missed", counts[id], "window", e.cfg.AckWindow)
				}
			}
		}
	}
	return ids
}

// AckStanding is how a store answers its tickets: the tickets it missed
// within the configured window, and whether that flags it to operators.
type AckStanding struct {
	Missed  int
	Flagged bool
}

// AckStandings returns the standing of each store that missed a ticket
// within Config.AckWindow of the clock's time; a store missing from it
// missed none. A repository that counts no misses gives none.
func (e *Engine) AckStandings(ctx context.Context) (map[string]AckStanding, error) {
	as, ok := e.repo.(orders.AckStore)
	if !ok {
		return nil, nil
	}
	counts, err := as.MissedAcks(ctx, e.clock.Now().Add(-e.cfg.AckWindow))
	if err != nil {
		return nil, err
	}
	out := make(map[string]AckStanding, len(counts))
	for id, n := range counts {
		out[id] = AckStanding{Missed: n, Flagged: n >= e.cfg.AckMisses}
	}
	return out, nil
}
