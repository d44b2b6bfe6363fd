package orders

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"zhengxiang/geo"
)

// HealthCode is the colour of a rider's health code (健康码) as the rider's phone shows it.
type HealthCode string

// The health codes: green moves freely, yellow and red are told to stay home.
const (
	HealthGreen  HealthCode = "GREEN"
	HealthYellow HealthCode = "YELLOW"
	HealthRed    HealthCode = "RED"
)

// Valid reports whether c is one of the defined codes.
func (c HealthCode) Valid() bool { return c == HealthGreen || c == HealthYellow || c == HealthRed }

// The plausible body temperatures a card may carry, and the fever line: a card at FeverC or
// above clears nobody.
const (
	MinTemperatureC = 34.0
	MaxTemperatureC = 42.0
	FeverC          = 37.3
)

// HealthCard is a rider's health card of one day (安心卡): the temperature taken and the health
// code shown at the start of the shift. Day is the day of China Standard Time that RecordedAt
// falls on. A rider has at most one card a day: a card recorded again the same day replaces it
// (the stores keep the earlier ones, see HealthStore.HealthCardHistory).
type HealthCard struct {
	RiderID      string
	Day          Day
	TemperatureC float64
	Code         HealthCode
	RecordedAt   time.Time
}

// Validate checks a card before it is recorded: a rider, a plausible temperature (34.0 to 42.0
// °C), a code, and a day that is the day of RecordedAt.
func (c HealthCard) Validate() error {
	switch {
	case c.RiderID == "":
		return Invalid("rider_id", "must not be empty")
	case math.IsNaN(c.TemperatureC) || c.TemperatureC < MinTemperatureC || c.TemperatureC > MaxTemperatureC:
		return Invalid("temperature_c", "%v is not a body temperature between %.1f and %.1f °C", c.TemperatureC, MinTemperatureC, MaxTemperatureC)
	case !c.Code.Valid():
		return Invalid("health_code", "%q is not GREEN, YELLOW or RED", c.Code)
	case c.RecordedAt.IsZero():
		return Invalid("recorded_at", "must be set")
	case !c.Day.Valid() || DayOf(c.RecordedAt) != c.Day:
		return Invalid("day", "%s is not the day (China Standard Time) of %s", c.Day, c.RecordedAt.Format(time.RFC3339))
	}
	return nil
}

// ValidOn reports whether the card lets its rider take orders on day: recorded that day, a
// temperature under FeverC and a green code.
func (c HealthCard) ValidOn(day Day) bool {
	return c.Day == day && c.TemperatureC < FeverC && c.Code == HealthGreen
}

// HealthStore keeps the riders' health cards. Every implementation (the in-memory Repository,
// the database one) passes orderstest.RunHealthContract.
type HealthStore interface {
	// PutHealthCard records a card (Validate first): it becomes the rider's card of its day,
	// replacing one recorded earlier that day, and joins the day's history.
	PutHealthCard(ctx context.Context, c HealthCard) error
	// HealthCard returns the rider's card of the day, or a KindNotFound error.
	HealthCard(ctx context.Context, riderID string, day Day) (HealthCard, error)
	// HealthCards returns every rider's card of the day, ordered by rider.
	HealthCards(ctx context.Context, day Day) ([]HealthCard, error)
	// HealthCardsSince returns the riders' cards of the day recorded at or after since,
	// ordered by rider.
	HealthCardsSince(ctx context.Context, day Day, since time.Time) ([]HealthCard, error)
	// HealthCardHistory returns every card the rider recorded on the day, the replaced ones
	// too, oldest first.
	HealthCardHistory(ctx context.Context, riderID string, day Day) ([]HealthCard, error)
}

// NoHealthCard is the KindNotFound error of a rider without a card on a day.
func NoHealthCard(riderID string, day Day) error {
	return &Error{Kind: KindNotFound, Msg: fmt.Sprintf("rider %q has no health card on %s", riderID, day)}
}

// MaxOrderLife bounds how long before a window contact tracing looks for orders: an order
// placed longer before it is taken to have ended before it (an order lives an hour or two).
const MaxOrderLife = 24 * time.Hour

// DropoffFinder finds the orders whose goods went to a place, for contact tracing. The
// in-memory Repository and the database one implement it; orderstest.RunHealthContract checks
// them.
type DropoffFinder interface {
	// OrdersDroppedIn returns the orders whose drop-off lies in the box from sw to ne (edges
	// included) and whose life, from placement to end (still going when not ended), overlaps
	// from..to, placed at most MaxOrderLife before from, ordered by PlacedAt then ID.
	OrdersDroppedIn(ctx context.Context, sw, ne geo.Point, from, to time.Time) ([]Order, error)
}

// CheckDropoffQuery checks the arguments of OrdersDroppedIn. Every DropoffFinder applies it.
func CheckDropoffQuery(sw, ne geo.Point, from, to time.Time) error {
	switch {
	case sw.Validate() != nil || ne.Validate() != nil || sw.Lat > ne.Lat || sw.Lng > ne.Lng:
		return Invalid("box", "%v to %v is not a box from its south-west to its north-east corner", sw, ne)
	case from.IsZero() || to.IsZero():
		return Invalid("from", "the window needs both ends")
	case to.Before(from):
		return Invalid("to", "%s is before from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return nil
}

// InDropoffQuery reports whether o is one of the orders OrdersDroppedIn returns for its
// arguments; implementations that filter in Go use it.
func InDropoffQuery(o Order, sw, ne geo.Point, from, to time.Time) bool {
	p := o.Dropoff
	return p.Lat >= sw.Lat && p.Lat <= ne.Lat && p.Lng >= sw.Lng && p.Lng <= ne.Lng &&
		!o.PlacedAt.Before(from.Add(-MaxOrderLife)) && !o.PlacedAt.After(to) &&
		(o.EndedAt.IsZero() || !o.EndedAt.Before(from))
}

// ContactKind says who a Contact is.
type ContactKind string

// The kinds of contact.
const (
	ContactRider ContactKind = "rider"
	ContactStore ContactKind = "store"
)

// Contact is a rider or a store that touched orders during a contact-tracing window: First and
// Last bound the times it touched them (not cut to the window), OrderIDs are the orders,
// sorted.
type Contact struct {
	Kind        ContactKind
	ID          string
	First, Last time.Time
	OrderIDs    []string
}

// Trail is an order with its events, as contact tracing reads it.
type Trail struct {
	Order  Order
	Events []Event
}

// TraceContacts returns who touched the trails' orders between from and to, riders first, each
// kind by id. A rider touched an order from the first to the last of its events that name the
// rider (offered, assigned, at the store, picked up, at the door, delivered, released); the
// store from the order's first event to the pickup, or to its last event when nobody picked the
// order up. A contact is returned when one of these spans overlaps the window.
func TraceContacts(trails []Trail, from, to time.Time) []Contact {
	type key struct {
		kind ContactKind
		id   string
	}
	byKey := map[key]*Contact{}
	touch := func(k key, orderID string, first, last time.Time) {
		if first.After(to) || last.Before(from) {
			return
		}
		c := byKey[k]
		if c == nil {
			c = &Contact{Kind: k.kind, ID: k.id, First: first, Last: last}
			byKey[k] = c
		}
		if first.Before(c.First) {
			c.First = first
		}
		if last.After(c.Last) {
			c.Last = last
		}
		if !slices.Contains(c.OrderIDs, orderID) {
			c.OrderIDs = append(c.OrderIDs, orderID)
		}
	}
	for _, tr := range trails {
		if len(tr.Events) == 0 {
			continue
		}
		type span struct{ first, last time.Time }
		riders := map[string]*span{}
		var order []string
		storeEnd := tr.Events[len(tr.Events)-1].At
		for _, ev := range tr.Events {
			if ev.Type == EventPickedUp {
				storeEnd = ev.At
			}
			if ev.RiderID == "" {
				continue
			}
			s := riders[ev.RiderID]
			if s == nil {
				s = &span{ev.At, ev.At}
				riders[ev.RiderID] = s
				order = append(order, ev.RiderID)
			}
			if ev.At.Before(s.first) {
				s.first = ev.At
			}
			if ev.At.After(s.last) {
				s.last = ev.At
			}
		}
		for _, id := range order {
			touch(key{ContactRider, id}, tr.Order.ID, riders[id].first, riders[id].last)
		}
		touch(key{ContactStore, tr.Order.StoreID}, tr.Order.ID, tr.Events[0].At, storeEnd)
	}
	out := make([]Contact, 0, len(byKey))
	for _, c := range byKey {
		slices.Sort(c.OrderIDs)
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Contact) int {
		return cmp.Or(cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// kindRank orders the kinds of contact: riders first.
func kindRank(k ContactKind) int {
	if k == ContactRider {
		return 0
	}
	return 1
}
