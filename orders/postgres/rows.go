package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"zhengxiang/orders"
)

// This file maps the domain types to rows and back. An unset time.Time is NULL; the database
// keeps microseconds, so times are truncated to microseconds before they are written and what a
// call returns is what a later read returns.

// ts is t as a timestamptz parameter: NULL when t is unset.
func ts(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t.Truncate(time.Microsecond), Valid: !t.IsZero()}
}

// timeOf is the time of a nullable timestamptz: unset when NULL.
func timeOf(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time
}

// micro truncates t to the microseconds the database keeps.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// itemJSON is an orders.Item in the items column.
type itemJSON struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	Qty        int    `json:"qty"`
	PriceCents int64  `json:"price_cents"`
}

func itemsJSON(items []orders.Item) []itemJSON {
	out := make([]itemJSON, len(items))
	for i, it := range items {
		out[i] = itemJSON{SKU: it.SKU, Name: it.Name, Qty: it.Qty, PriceCents: it.PriceCents}
	}
	return out
}

func itemsOf(js []itemJSON) []orders.Item {
	if js == nil {
		return nil
	}
	out := make([]orders.Item, len(js))
	for i, it := range js {
		out[i] = orders.Item{SKU: it.SKU, Name: it.Name, Qty: it.Qty, PriceCents: it.PriceCents}
	}
	return out
}

// checkPublishable returns a KindInvalid error naming events[i] when ev holds a time that the
// stream cannot carry: protobuf's Timestamp and RFC 3339 both end with the year 9999. The event
// would otherwise be stored and then stop the relay at its turn.
func checkPublishable(i int, ev *orders.Event) error {
	for _, f := range [...]struct {
		name string
		t    time.Time
	}{{"at", ev.At}, {"expires_at", ev.ExpiresAt}} {
		if y := f.t.UTC().Year(); !f.t.IsZero() && (y < 1 || y > 9999) {
			return orders.Invalid(fmt.Sprintf("events[%d].%s", i, f.name), "%s seq %d: year %d is outside 1 to 9999", ev.Type, ev.Seq, y)
		}
	}
	return nil
}

// truncateOrder truncates o's times to microseconds, as they will be stored.
func truncateOrder(o *orders.Order) {
	for _, t := range [...]*time.Time{&o.PlacedAt, &o.ReadyAt, &o.PromiseAt, &o.OfferExpiresAt, &o.AcceptedAt,
		&o.ReadyMarkedAt, &o.AssignedAt, &o.PickedUpAt, &o.DeliveredAt, &o.EndedAt, &o.ReceiptConfirmedAt} {
		*t = micro(*t)
	}
}

// orderColumns are the columns of orders in the order orderArgs and scanOrder use.
const orderColumns = `id, platform, platform_order_id, tracking_secret, pickup_code, store_id, section,
	items, subtotal_cents, delivery_fee_cents, dropoff_lat, dropoff_lng, address, district, placed_at,
	ready_at, promise_at, status, delivery, rider_id, offer_expires_at, handover, accepted_at,
	ready_marked_at, assigned_at, picked_up_at, delivered_at, ended_at, receipt_confirmed_at, dropoff_code,
	photo_ref, handover_code, wrong_codes, wrong_pickup_codes, dropoff_method, instructions, campaign_id, dropoff_site_id, reason, actor, seq,
	active`

// numOrderColumns is the number of orderColumns.
const numOrderColumns = 42

// orderArgs are o's values for orderColumns.
func orderArgs(o *orders.Order) []any {
	return []any{o.ID, o.Platform, o.PlatformOrderID, o.TrackingSecret, o.PickupCode, o.StoreID,
		string(o.Section), itemsJSON(o.Items),
		o.SubtotalCents, o.DeliveryFeeCents, o.Dropoff.Lat, o.Dropoff.Lng, o.Address, o.District,
		ts(o.PlacedAt), ts(o.ReadyAt), ts(o.PromiseAt), string(o.Status), string(o.Delivery), o.RiderID,
		ts(o.OfferExpiresAt), string(o.Handover), ts(o.AcceptedAt), ts(o.ReadyMarkedAt), ts(o.AssignedAt),
		ts(o.PickedUpAt), ts(o.DeliveredAt), ts(o.EndedAt), ts(o.ReceiptConfirmedAt), o.DropoffCode, o.PhotoRef,
		o.HandoverCode, int64(o.WrongCodes), int64(o.WrongPickupCodes), string(o.DropoffMethod), o.Instructions, o.CampaignID, o.DropoffSiteID, o.Reason, o.Actor, o.Seq,
		o.Active()}
}

// scanOrder reads a row of orderColumns, without active.
func scanOrder(row pgx.Row) (orders.Order, error) {
	var (
		o                                               orders.Order
		items                                           []itemJSON
		section, status, delivery, handover             string
		method                                          string
		placed, ready, promise, offer, accepted, marked pgtype.Timestamptz
		assigned, picked, delivered, ended, confirmed   pgtype.Timestamptz
		active                                          bool
		wrongCodes, wrongPickupCodes                    int64
	)
	err := row.Scan(&o.ID, &o.Platform, &o.PlatformOrderID, &o.TrackingSecret, &o.PickupCode, &o.StoreID,
		&section, &items, &o.SubtotalCents, &o.DeliveryFeeCents, &o.Dropoff.Lat, &o.Dropoff.Lng, &o.Address,
		&o.District, &placed, &ready, &promise, &status, &delivery, &o.RiderID,
		&offer, &handover, &accepted, &marked, &assigned,
		&picked, &delivered, &ended, &confirmed, &o.DropoffCode, &o.PhotoRef,
		&o.HandoverCode, &wrongCodes, &wrongPickupCodes, &method, &o.Instructions, &o.CampaignID, &o.DropoffSiteID, &o.Reason, &o.Actor, &o.Seq, &active)
	if err != nil {
		return orders.Order{}, err
	}
	o.Section, o.Items = orders.Section(section), itemsOf(items)
	o.PlacedAt, o.ReadyAt, o.PromiseAt = timeOf(placed), timeOf(ready), timeOf(promise)
	o.Status, o.Delivery, o.Handover = orders.OrderStatus(status), orders.DeliveryStatus(delivery), orders.Handover(handover)
	o.OfferExpiresAt, o.AcceptedAt, o.ReadyMarkedAt, o.AssignedAt = timeOf(offer), timeOf(accepted), timeOf(marked), timeOf(assigned)
	o.PickedUpAt, o.DeliveredAt, o.EndedAt = timeOf(picked), timeOf(delivered), timeOf(ended)
	o.ReceiptConfirmedAt, o.WrongCodes, o.WrongPickupCodes = timeOf(confirmed), int(wrongCodes), int(wrongPickupCodes)
	o.DropoffMethod = orders.Handover(method)
	return o, nil
}

// eventColumns are the columns of order_events in the order eventArgs and scanEvent use.
const eventColumns = `order_id, seq, type, at, status, delivery, rider_id, reason, actor, handover, expires_at`

func eventArgs(ev *orders.Event) []any {
	return []any{ev.OrderID, ev.Seq, string(ev.Type), ts(ev.At), string(ev.Status), string(ev.Delivery),
		ev.RiderID, ev.Reason, ev.Actor, string(ev.Handover), ts(ev.ExpiresAt)}
}

func scanEvent(row pgx.CollectableRow) (orders.Event, error) { return scanEventAfter(row) }

// scanEventAfter scans a row of the values lead, then eventColumns.
func scanEventAfter(row pgx.Row, lead ...any) (orders.Event, error) {
	var (
		ev                              orders.Event
		typ, status, delivery, handover string
		at, expires                     pgtype.Timestamptz
	)
	if err := row.Scan(append(lead, &ev.OrderID, &ev.Seq, &typ, &at, &status, &delivery, &ev.RiderID, &ev.Reason,
		&ev.Actor, &handover, &expires)...); err != nil {
		return orders.Event{}, err
	}
	ev.Type, ev.Status, ev.Delivery = orders.EventType(typ), orders.OrderStatus(status), orders.DeliveryStatus(delivery)
	ev.Handover, ev.At, ev.ExpiresAt = orders.Handover(handover), timeOf(at), timeOf(expires)
	return ev, nil
}

// storeColumns are the columns of stores in the order of PutStore's and scanStore's values.
const storeColumns = `id, name, district, section, lat, lng, prep_minutes, suspended`

func scanStore(row pgx.CollectableRow) (orders.Store, error) {
	var s orders.Store
	var section string
	err := row.Scan(&s.ID, &s.Name, &s.District, &section, &s.Point.Lat, &s.Point.Lng, &s.PrepMinutes, &s.Suspended)
	s.Section = orders.Section(section)
	return s, err
}

// riderColumns are the columns of riders in the order of PutRider's and scanRider's values.
const riderColumns = `id, name, capacity, shift_start, shift_end, lat, lng, last_ping, on_shift`

func scanRider(row pgx.CollectableRow) (orders.Rider, error) {
	var r orders.Rider
	var start, end, ping pgtype.Timestamptz
	err := row.Scan(&r.ID, &r.Name, &r.Capacity, &start, &end, &r.Point.Lat, &r.Point.Lng, &ping, &r.OnShift)
	r.ShiftStart, r.ShiftEnd, r.LastPing = timeOf(start), timeOf(end), timeOf(ping)
	return r, err
}
