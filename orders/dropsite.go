package orders

import (
	"context"
	"fmt"
	"time"

	"zhengxiang/geo"
)

// DropSite is a registered place where riders leave parcels contactless: a smart locker
// (Kind LOCKER, with Slots) or a drop point at the gate of a closed residential compound (Kind
// DROP_POINT). Gate is where the rider goes: the promise to an order left there counts to it.
// Reserved is the locker's slots held by orders (ReserveSlot); a drop point has no slots.
// A closed site takes no new orders; the orders it holds keep their slots.
type DropSite struct {
	ID       string
	Kind     Handover
	Name     string
	Compound string
	Gate     geo.Point
	Slots    int
	Reserved int
	Closed   bool
	// CreatedAt is when the site was registered, ClosedAt when it was closed (zero while open).
	CreatedAt, ClosedAt time.Time
}

// MaxSlots is the most slots of one locker.
const MaxSlots = 10_000

// Validate checks a site before it is registered. Whether the gate lies in the service area is
// the caller's check.
func (s DropSite) Validate() error {
	switch {
	case s.ID == "":
		return Invalid("site.id", "must not be empty")
	case s.Kind != HandoverLocker && s.Kind != HandoverDropPoint:
		return Invalid("site.kind", "%q is neither LOCKER nor DROP_POINT", s.Kind)
	case s.Name == "" || len(s.Name) > 200:
		return Invalid("site.name", "%d bytes: 1 to 200", len(s.Name))
	case s.Compound == "" || len(s.Compound) > 200:
		return Invalid("site.compound", "%d bytes: 1 to 200", len(s.Compound))
	case s.Kind == HandoverLocker && (s.Slots < 1 || s.Slots > MaxSlots):
		return Invalid("site.slots", "%d: a locker has 1 to %d slots", s.Slots, MaxSlots)
	case s.Kind == HandoverDropPoint && s.Slots != 0:
		return Invalid("site.slots", "%d: a drop point has no slots", s.Slots)
	case s.CreatedAt.IsZero():
		return Invalid("site.created_at", "must be set")
	}
	return checkPoint("site.gate", s.Gate, true)
}

// Free returns the slots of a locker that no order holds.
func (s DropSite) Free() int { return max(s.Slots-s.Reserved, 0) }

// DropSiteStore keeps the drop sites and the lockers' slots. Every implementation (the
// in-memory Repository, the database one) passes orderstest.RunDropSiteContract.
//
// A slot is held by an order: reserved when a rider takes the order (ReserveSlot), and released
// by the record itself in the same step as the change that ends the order's claim (FreesSlot):
// a cancellation, a failed or returned delivery, an offer withdrawn or the order taken back
// from its rider, and the consumer's confirmation of the receipt of a delivered order.
type DropSiteStore interface {
	// CreateDropSite registers a site (Validate first); an ID taken is KindConflict.
	CreateDropSite(ctx context.Context, s DropSite) error
	// DropSite returns the site, or a KindNotFound error.
	DropSite(ctx context.Context, id string) (DropSite, error)
	// DropSites returns every site, ordered by ID.
	DropSites(ctx context.Context) ([]DropSite, error)
	// CloseDropSite closes the site at at and returns it; a closed site stays as it was closed.
	CloseDropSite(ctx context.Context, id string, at time.Time) (DropSite, error)
	// ReserveSlot holds a slot of the locker for the order, atomically: however many orders
	// reserve at once, no more than its Slots are held. An order holding a slot already keeps
	// it (an order has one site). It reports false when no slot is free. A site that is not a locker is
	// KindInvalid, one unknown KindNotFound.
	ReserveSlot(ctx context.Context, siteID, orderID string) (bool, error)
	// ReleaseSlot frees the slot the order holds, if any.
	ReleaseSlot(ctx context.Context, orderID string) error
	// HasOrderKey reports whether an order of the key (its platform and platform order id,
	// Order.Key) is stored.
	HasOrderKey(ctx context.Context, platform, platformOrderID string) (bool, error)
}

// FreesSlot reports whether the change of the locker order n by evs ends its claim on a slot:
// one of evs leaves the order without a rider before delivery (cancelled, rejected, offer
// declined, expired or withdrawn, taken back), fails or returns its delivery, or confirms the
// receipt of the goods delivered. The stores release the order's slot with such a change.
func FreesSlot(n *Order, evs []Event) bool {
	if n.DropoffMethod != HandoverLocker {
		return false
	}
	for _, ev := range evs {
		switch ev.Type {
		case EventCancelled, EventAutoCancelled, EventMerchantRejected, EventOfferDeclined, EventOfferExpired,
			EventReassigned, EventFailed, EventReturned, EventReceiptConfirmed:
			return true
		}
	}
	return false
}

// ErrLockerFull is the KindConflict error of a locker without a free slot.
func ErrLockerFull(s DropSite) error {
	return &Error{Kind: KindConflict, Field: "dropoff_site_id",
		Msg: fmt.Sprintf("locker %s (%s, %s) is full: all %d slots are taken", s.ID, s.Name, s.Compound, s.Slots)}
}

// CheckDropoffChoice checks a drop-off choice as a message carries it: a LOCKER or DROP_POINT
// drop-off names its site, any other none. The error names the field dropoff_site_id.
func CheckDropoffChoice(method Handover, siteID string) error {
	switch {
	case method != HandoverLocker && method != HandoverDropPoint && siteID != "":
		return Invalid("dropoff_site_id", "only a LOCKER or DROP_POINT drop-off names a site, not %s", Order{DropoffMethod: method}.ChosenDropoff())
	case (method == HandoverLocker || method == HandoverDropPoint) && siteID == "":
		return Invalid("dropoff_site_id", "a %s drop-off names its site", method)
	}
	return nil
}

// AtDropSite checks the drop site of a new order against its drop-off choice and leads the order
// there: a LOCKER or DROP_POINT order names an open site of that kind (DropoffSiteID) and its
// Dropoff becomes the site's gate, where the promise counts to; the consumer's Address stays.
// A locker without a free slot is ErrLockerFull, returned with the site and the order led to it
// (as a quote shows it). A closed site or a full locker refuses only a new order: when an order
// of o's key (Order.Key) is stored already, o is a resend, led to the site like the first, and
// the record's idempotent creation answers it with the stored order. Any other order names no
// site. It returns the site (zero for no site). Errors name the field dropoff_site_id. Both
// intakes (the API and orders.placed) place their orders through it.
func AtDropSite(ctx context.Context, sites DropSiteStore, o *Order) (DropSite, error) {
	if err := CheckDropoffChoice(o.DropoffMethod, o.DropoffSiteID); err != nil || o.DropoffSiteID == "" {
		return DropSite{}, err
	}
	if sites == nil {
		return DropSite{}, Invalid("dropoff_site_id", "this service keeps no drop sites")
	}
	s, err := sites.DropSite(ctx, o.DropoffSiteID)
	switch {
	case IsKind(err, KindNotFound):
		return DropSite{}, Invalid("dropoff_site_id", "unknown site %q", o.DropoffSiteID)
	case err != nil:
		return DropSite{}, err
	case s.Kind != o.DropoffMethod:
		return DropSite{}, Invalid("dropoff_site_id", "site %s is a %s, not a %s", s.ID, s.Kind, o.DropoffMethod)
	}
	if !s.Closed && (s.Kind != HandoverLocker || s.Free() > 0) {
		o.Dropoff = s.Gate
		return s, nil
	}
	resent, err := sites.HasOrderKey(ctx, o.Platform, o.PlatformOrderID)
	switch {
	case err != nil:
		return DropSite{}, err
	case s.Closed && !resent:
		return DropSite{}, Invalid("dropoff_site_id", "site %s is closed", s.ID)
	}
	o.Dropoff = s.Gate
	if !resent {
		return s, ErrLockerFull(s)
	}
	return s, nil
}
