package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// ErrBusy is the cause of the KindConflict error of a change refused
// because a rider's step on the same trip is being recorded at that moment;
// the change can be tried again a moment later.
var ErrBusy = errors.New("a rider's step on it is being recorded; try again")

func busy(format string, args ...any) error {
	return &orders.Error{Kind: orders.KindConflict, Msg: fmt.Sprintf(format, args...), Err: ErrBusy}
}

// Offered returns the trip offered to a rider and not answered yet, and
// false when there is none.
func (e *Engine) Offered(riderID string) (Offer, bool) {
	e.lock()
	defer e.unlock()
	r := e.riders[riderID]
	if r == nil || r.offer == nil {
		return Offer{}, false
	}
	return e.describe(r.offer), true
}

// RiderView is a rider as the dispatch desk sees it.
type RiderView struct {
	ID       string
	Point    geo.Point
	Load     int // orders held
	Capacity int
	OnShift  bool
	// WorkingMinutes is the rider's time on shift in the day (China
	// Standard Time), across shifts; WorkWarning is set past Config.WorkWarn,
	// WorkStopped from Config.WorkLimit, when the rider gets no new offer.
	WorkingMinutes int
	WorkWarning    bool
	WorkStopped    bool
}

// Rider returns a rider's state, and false for a rider the engine does not
// know.
func (e *Engine) Rider(riderID string) (RiderView, bool) {
	e.lock()
	defer e.unlock()
	r := e.riders[riderID]
	if r == nil {
		return RiderView{}, false
	}
	return e.withWork(RiderView{ID: r.id, Point: r.pos, Load: r.load(), Capacity: r.capacity, OnShift: r.onShift}, r), true
}

// Riders returns up to limit riders on shift (0: all), in the order they
// started.
func (e *Engine) Riders(limit int) []RiderView {
	e.lock()
	defer e.unlock()
	var out []RiderView
	for _, r := range e.rlist {
		if !r.onShift {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, e.withWork(RiderView{ID: r.id, Point: r.pos, Load: r.load(), Capacity: r.capacity, OnShift: true}, r))
	}
	return out
}

// PlannedDropoff returns when the rider holding an order plans to hand it
// over, and false when no rider holds it.
func (e *Engine) PlannedDropoff(orderID string) (time.Time, bool) {
	e.lock()
	defer e.unlock()
	o := e.orders[orderID]
	if o == nil || o.trip == nil || o.trip.state == tripOffered {
		return time.Time{}, false
	}
	t := o.trip
	for i, x := range t.orders {
		if x == o {
			return e.at(t.drops[i]), true
		}
	}
	return time.Time{}, false
}

// MerchantReject records that the store refused an order; a rider offered
// or holding it is released.
func (e *Engine) MerchantReject(ctx context.Context, orderID, reason string) error {
	now := e.clock.Now()
	return e.end(ctx, orderID, func(o *orders.Order) (orders.Event, error) { return o.MerchantReject(now, reason) })
}

// end records a change that ends an order before pickup (a cancellation, a
// refusal) and takes the order out of its trip.
func (e *Engine) end(ctx context.Context, orderID string, fn func(o *orders.Order) (orders.Event, error)) error {
	e.lock()
	defer e.unlock()
	if o := e.orders[orderID]; o != nil && o.trip != nil && o.trip.busy {
		return busy("order %s", orderID)
	}
	if err := e.update(ctx, orderID, fn); err != nil {
		return err
	}
	if o := e.orders[orderID]; o != nil {
		e.dropFromTrip(o)
		o.ended = true
		e.stats.Cancelled++
	}
	return nil
}
