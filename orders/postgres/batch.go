package postgres

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"zhengxiang/orders"
)

// This file holds the writes of orders in batches. CreateOrders and UpdateOrders gather the rows
// of all their orders column by column and send each table's rows as arrays that one statement
// unnests, so that a batch costs the same handful of statements whatever its size. The rows of a
// change (rowSet) are worked out once, for those statements and for the row-by-row statements
// of UpdateOrder alike.

// orderColumnTypes are the SQL types of orderColumns, in the same order; the arrays of orderRows
// are cast to them. items travels as text and is cast to jsonb where it is written.
var orderColumnTypes = []string{"text", "text", "text", "text", "text", "text", "text", "text", "bigint",
	"bigint", "double precision", "double precision", "text", "text", "timestamptz", "timestamptz", "timestamptz",
	"text", "text", "text", "timestamptz", "text", "timestamptz", "timestamptz", "timestamptz",
	"timestamptz", "timestamptz", "timestamptz", "timestamptz", "text", "text", "text", "bigint", "bigint", "text", "text", "text", "text", "text", "text", "bigint", "boolean"}

// orderRows are orders column by column, in the order of orderColumns.
type orderRows struct {
	id, platform, platformOrderID   []string
	trackingSecret, pickupCode      []string
	storeID, section, items         []string
	subtotal, fee                   []int64
	lat, lng                        []float64
	address, district               []string
	placed, ready, promise          []pgtype.Timestamptz
	status, delivery, riderID       []string
	offerExpires                    []pgtype.Timestamptz
	handover                        []string
	accepted, readyMarked, assigned []pgtype.Timestamptz
	pickedUp, delivered, ended      []pgtype.Timestamptz
	receiptConfirmed                []pgtype.Timestamptz
	dropoffCode, photoRef           []string
	handoverCode                    []string
	wrongCodes                      []int64
	wrongPickupCodes                []int64
	dropoffMethod, instructions     []string
	campaignID, dropoffSiteID       []string
	reason, actor                   []string
	seq                             []int64
	active                          []bool
}

func (r *orderRows) len() int { return len(r.id) }

// add appends o, whose times are already truncated (truncateOrder).
func (r *orderRows) add(o *orders.Order) {
	items, _ := json.Marshal(itemsJSON(o.Items)) // strings and integers: cannot fail
	r.id = append(r.id, o.ID)
	r.platform = append(r.platform, o.Platform)
	r.platformOrderID = append(r.platformOrderID, o.PlatformOrderID)
	r.trackingSecret = append(r.trackingSecret, o.TrackingSecret)
	r.pickupCode = append(r.pickupCode, o.PickupCode)
	r.storeID = append(r.storeID, o.StoreID)
	r.section = append(r.section, string(o.Section))
	r.items = append(r.items, string(items))
	r.subtotal = append(r.subtotal, o.SubtotalCents)
	r.fee = append(r.fee, o.DeliveryFeeCents)
	r.lat = append(r.lat, o.Dropoff.Lat)
	r.lng = append(r.lng, o.Dropoff.Lng)
	r.address = append(r.address, o.Address)
	r.district = append(r.district, o.District)
	r.placed = append(r.placed, ts(o.PlacedAt))
	r.ready = append(r.ready, ts(o.ReadyAt))
	r.promise = append(r.promise, ts(o.PromiseAt))
	r.status = append(r.status, string(o.Status))
	r.delivery = append(r.delivery, string(o.Delivery))
	r.riderID = append(r.riderID, o.RiderID)
	r.offerExpires = append(r.offerExpires, ts(o.OfferExpiresAt))
	r.handover = append(r.handover, string(o.Handover))
	r.accepted = append(r.accepted, ts(o.AcceptedAt))
	r.readyMarked = append(r.readyMarked, ts(o.ReadyMarkedAt))
	r.assigned = append(r.assigned, ts(o.AssignedAt))
	r.pickedUp = append(r.pickedUp, ts(o.PickedUpAt))
	r.delivered = append(r.delivered, ts(o.DeliveredAt))
	r.ended = append(r.ended, ts(o.EndedAt))
	r.receiptConfirmed = append(r.receiptConfirmed, ts(o.ReceiptConfirmedAt))
	r.dropoffCode = append(r.dropoffCode, o.DropoffCode)
	r.photoRef = append(r.photoRef, o.PhotoRef)
	r.handoverCode = append(r.handoverCode, o.HandoverCode)
	r.wrongCodes = append(r.wrongCodes, int64(o.WrongCodes))
	r.wrongPickupCodes = append(r.wrongPickupCodes, int64(o.WrongPickupCodes))
	r.dropoffMethod = append(r.dropoffMethod, string(o.DropoffMethod))
	r.instructions = append(r.instructions, o.Instructions)
	r.campaignID = append(r.campaignID, o.CampaignID)
	r.dropoffSiteID = append(r.dropoffSiteID, o.DropoffSiteID)
	r.reason = append(r.reason, o.Reason)
	r.actor = append(r.actor, o.Actor)
	r.seq = append(r.seq, o.Seq)
	r.active = append(r.active, o.Active())
}

// grow makes room for n more orders, so that add does not grow the columns one by one.
func (r *orderRows) grow(n int) {
	for _, c := range [...]*[]string{&r.id, &r.platform, &r.platformOrderID, &r.trackingSecret, &r.pickupCode,
		&r.storeID, &r.section, &r.items, &r.address, &r.district, &r.status, &r.delivery, &r.riderID,
		&r.handover, &r.dropoffCode, &r.photoRef, &r.handoverCode, &r.dropoffMethod, &r.instructions,
		&r.campaignID, &r.dropoffSiteID, &r.reason, &r.actor} {
		*c = slices.Grow(*c, n)
	}
	for _, c := range [...]*[]pgtype.Timestamptz{&r.placed, &r.ready, &r.promise, &r.offerExpires, &r.accepted,
		&r.readyMarked, &r.assigned, &r.pickedUp, &r.delivered, &r.ended, &r.receiptConfirmed} {
		*c = slices.Grow(*c, n)
	}
	for _, c := range [...]*[]int64{&r.subtotal, &r.fee, &r.wrongCodes, &r.wrongPickupCodes, &r.seq} {
		*c = slices.Grow(*c, n)
	}
	r.lat, r.lng = slices.Grow(r.lat, n), slices.Grow(r.lng, n)
	r.active = slices.Grow(r.active, n)
}

// args are the arrays in the order of orderColumns.
func (r *orderRows) args() []any {
	return []any{r.id, r.platform, r.platformOrderID, r.trackingSecret, r.pickupCode, r.storeID, r.section,
		r.items, r.subtotal, r.fee, r.lat, r.lng, r.address, r.district, r.placed, r.ready, r.promise, r.status,
		r.delivery, r.riderID, r.offerExpires, r.handover, r.accepted, r.readyMarked, r.assigned, r.pickedUp,
		r.delivered, r.ended, r.receiptConfirmed, r.dropoffCode, r.photoRef, r.handoverCode, r.wrongCodes, r.wrongPickupCodes, r.dropoffMethod, r.instructions, r.campaignID, r.dropoffSiteID, r.reason, r.actor, r.seq, r.active}
}

// eventRows are events column by column, in the order of eventColumns; each also gets its outbox
// row. pi is the position of the event's order in a CreateOrders statement.
type eventRows struct {
	pi                                       []int64
	orderID                                  []string
	seq                                      []int64
	typ                                      []string
	at                                       []pgtype.Timestamptz
	status, delivery, riderID, reason, actor []string
	handover                                 []string
	expiresAt                                []pgtype.Timestamptz
}

func (r *eventRows) len() int { return len(r.orderID) }

// add appends ev.
func (r *eventRows) add(pi int64, ev *orders.Event) {
	r.pi = append(r.pi, pi)
	r.orderID = append(r.orderID, ev.OrderID)
	r.seq = append(r.seq, ev.Seq)
	r.typ = append(r.typ, string(ev.Type))
	r.at = append(r.at, ts(ev.At))
	r.status = append(r.status, string(ev.Status))
	r.delivery = append(r.delivery, string(ev.Delivery))
	r.riderID = append(r.riderID, ev.RiderID)
	r.reason = append(r.reason, ev.Reason)
	r.actor = append(r.actor, ev.Actor)
	r.handover = append(r.handover, string(ev.Handover))
	r.expiresAt = append(r.expiresAt, ts(ev.ExpiresAt))
}

// args are the arrays in the order of eventColumns.
func (r *eventRows) args() []any {
	return []any{r.orderID, r.seq, r.typ, r.at, r.status, r.delivery, r.riderID, r.reason, r.actor,
		r.handover, r.expiresAt}
}

// assignmentRows are the assignments a set of changes opens; releasedAt is set on those it also
// releases.
type assignmentRows struct {
	pi                   []int64
	orderID, riderID     []string
	assignedAt, released []pgtype.Timestamptz
	reason               []string
}

func (r *assignmentRows) len() int { return len(r.orderID) }

func (r *assignmentRows) args() []any {
	return []any{r.orderID, r.riderID, r.assignedAt, r.released, r.reason}
}

// releaseRows are the releases of assignments opened before the set of changes, at most one per
// order.
type releaseRows struct {
	orderID []string
	at      []pgtype.Timestamptz
	reason  []string
}

func (r *releaseRows) len() int { return len(r.orderID) }

func (r *releaseRows) args() []any { return []any{r.orderID, r.at, r.reason} }

// deliveryRows are the deliveries that DELIVERED and FAILED events end.
type deliveryRows struct {
	pi                              []int64
	orderID, riderID, outcome       []string
	pickedUp, deliveredAt, failedAt []pgtype.Timestamptz
	handover, reason                []string
}

func (r *deliveryRows) len() int { return len(r.orderID) }

func (r *deliveryRows) args() []any {
	return []any{r.orderID, r.riderID, r.outcome, r.pickedUp, r.deliveredAt, r.failedAt, r.handover, r.reason}
}

// rowSet is what a set of changes writes besides the orders' own rows:
//
//   - each event and its outbox row;
//   - an assignment opened by ASSIGNED, and released by the first event after which no rider
//     holds the order (REASSIGNED, MERCHANT_REJECTED, AUTO_CANCELLED, CANCELLED, DELIVERED,
//     FAILED), with the event type and reason as the release reason ("REASSIGNED: flat tyre").
//     An assignment opened and released within the set is written released; one opened before
//     it is released by an UPDATE. An offer is not an assignment: OFFER_DECLINED and
//     OFFER_EXPIRED find none to release;
//   - a delivery row for DELIVERED and FAILED.
type rowSet struct {
	events     eventRows
	opens      assignmentRows
	releases   releaseRows
	deliveries deliveryRows
}

// addChange appends the rows of the change of one order by evs, from delivery status from to n.
// pi tags the rows for CreateOrders. open is the index in s.opens of the order's assignment that
// this set opened and has not released, or -1; addChange keeps it up to date, so that the
// changes of one order must be added in Seq order. An event that the stream cannot carry (a
// time past the year 9999, checkPublishable) is a KindInvalid error, and then nothing is added.
func (s *rowSet) addChange(pi int64, from orders.DeliveryStatus, n *orders.Order, evs []orders.Event, open *int) error {
	for i := range evs {
		if err := checkPublishable(i, &evs[i]); err != nil {
			return err
		}
	}
	held := holds(from)
	for i := range evs {
		ev := &evs[i]
		s.events.add(pi, ev)
		switch {
		case ev.Type == orders.EventAssigned:
			a := &s.opens
			*open = a.len()
			a.pi = append(a.pi, pi)
			a.orderID = append(a.orderID, ev.OrderID)
			a.riderID = append(a.riderID, ev.RiderID)
			a.assignedAt = append(a.assignedAt, ts(ev.At))
			a.released = append(a.released, ts(time.Time{}))
			a.reason = append(a.reason, "")
			held = true
		case held && !holds(ev.Delivery):
			reason := string(ev.Type)
			if ev.Reason != "" {
				reason += ": " + ev.Reason
			}
			if *open >= 0 {
				s.opens.released[*open] = ts(ev.At)
				s.opens.reason[*open] = reason
				*open = -1
			} else {
				r := &s.releases
				r.orderID = append(r.orderID, ev.OrderID)
				r.at = append(r.at, ts(ev.At))
				r.reason = append(r.reason, reason)
			}
			held = false
		}
		var outcome orders.DeliveryStatus
		var delivered, failed time.Time
		switch ev.Type {
		case orders.EventDelivered:
			outcome, delivered = orders.DeliveryDelivered, ev.At
		case orders.EventFailed:
			outcome, failed = orders.DeliveryFailed, ev.At
		default:
			continue
		}
		d := &s.deliveries
		d.pi = append(d.pi, pi)
		d.orderID = append(d.orderID, ev.OrderID)
		d.riderID = append(d.riderID, ev.RiderID)
		d.outcome = append(d.outcome, string(outcome))
		d.pickedUp = append(d.pickedUp, ts(n.PickedUpAt))
		d.deliveredAt = append(d.deliveredAt, ts(delivered))
		d.failedAt = append(d.failedAt, ts(failed))
		d.handover = append(d.handover, string(ev.Handover))
		d.reason = append(d.reason, ev.Reason)
	}
	return nil
}

// holds reports whether a rider holds an order whose delivery is d: from assignment until the
// goods are handed over or the delivery fails.
func holds(d orders.DeliveryStatus) bool {
	switch d {
	case orders.DeliveryAssigned, orders.DeliveryArrivedAtPickup, orders.DeliveryPickedUp, orders.DeliveryArrivedAtDropoff:
		return true
	}
	return false
}

// unnest returns "unnest($from::t1[], $from+1::t2[], ...) WITH ORDINALITY AS alias(c1, c2, ..., ord)".
func unnest(from int, alias string, cols, types []string) string {
	if len(cols) != len(types) {
		panic(fmt.Sprintf("unnest %s: %d columns, %d types", alias, len(cols), len(types)))
	}
	var b strings.Builder
	b.WriteString("unnest(")
	for i, t := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i) + "::" + t + "[]")
	}
	b.WriteString(") WITH ORDINALITY AS " + alias + "(" + strings.Join(cols, ", ") + ", ord)")
	return b.String()
}

// columns splits a column list ("a, b,\n c") into its names.
func columns(list string) []string {
	cols := strings.Split(list, ",")
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c)
	}
	return cols
}

// prefixed returns "p.a, p.b, ..." for the columns and alias p, with items cast to jsonb.
func prefixed(alias string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = alias + "." + c
		if c == "items" {
			out[i] += "::jsonb"
		}
	}
	return strings.Join(out, ", ")
}

var (
	eventCols  = columns(eventColumns)
	eventTypes = []string{"text", "bigint", "text", "timestamptz", "text", "text", "text", "text", "text",
		"text", "timestamptz"}
	assignmentCols  = []string{"order_id", "rider_id", "assigned_at", "released_at", "reason"}
	assignmentTypes = []string{"text", "text", "timestamptz", "timestamptz", "text"}
	releaseCols     = []string{"order_id", "released_at", "reason"}
	releaseTypes    = []string{"text", "timestamptz", "text"}
	deliveryCols    = []string{"order_id", "rider_id", "outcome", "picked_up_at", "delivered_at", "failed_at",
		"handover", "reason"}
	deliveryTypes = []string{"text", "text", "text", "timestamptz", "timestamptz", "timestamptz", "text", "text"}
)

// insertEvents writes events ($1..$11, eventRows.args) and their outbox rows, whose ids follow
// the order of the arrays.
var insertEvents = `WITH ev AS (
		SELECT * FROM ` + unnest(1, "ev", eventCols, eventTypes) + `
	), e AS (
		INSERT INTO order_events (` + eventColumns + `) SELECT ` + prefixed("ev", eventCols) + ` FROM ev
	)
	INSERT INTO outbox (order_id, seq) SELECT ev.order_id, ev.seq FROM ev ORDER BY ev.ord`

// releaseAssignments releases the active assignments of the orders of releaseRows.args.
var releaseAssignments = `UPDATE assignments a SET released_at = r.released_at, reason = r.reason
	FROM ` + unnest(1, "r", releaseCols, releaseTypes) + `
	WHERE a.order_id = r.order_id AND a.released_at IS NULL`

// openAssignments writes the assignments of assignmentRows.args, in their order.
var openAssignments = `INSERT INTO assignments (` + strings.Join(assignmentCols, ", ") + `)
	SELECT ` + prefixed("a", assignmentCols) + ` FROM ` + unnest(1, "a", assignmentCols, assignmentTypes) + `
	ORDER BY a.ord`

// insertDeliveries writes the deliveries of deliveryRows.args.
var insertDeliveries = `INSERT INTO deliveries (` + strings.Join(deliveryCols, ", ") + `)
	SELECT ` + prefixed("d", deliveryCols) + ` FROM ` + unnest(1, "d", deliveryCols, deliveryTypes)

// updateOrders writes every column but the identity and the secrets of the orders of the arrays
// of orderRows.args at updatedColumns, each only if it is still at the seq of the last array, and
// returns the ids of the orders written.
var updateOrders = updateOrdersOf(pick(columns(orderColumns), updatedColumns), pick(orderColumnTypes, updatedColumns))

// updateProgress is updateOrders for orders whose content is as it was (sameContent): it writes
// only the columns that follow an order's life, from the arrays of orderRows.args at
// progressColumns.
var updateProgress = updateOrdersOf(pick(columns(orderColumns), progressColumns), pick(orderColumnTypes, progressColumns))

// secretColumns are the secrets an order is created with (TrackingSecret, PickupCode,
// HandoverCode); they never change, so no update writes them.
var secretColumns = map[string]bool{"tracking_secret": true, "pickup_code": true, "handover_code": true}

// contentColumns are what an order was placed with; no change of its life alters them.
var contentColumns = map[string]bool{"store_id": true, "section": true, "items": true, "subtotal_cents": true,
	"delivery_fee_cents": true, "dropoff_lat": true, "dropoff_lng": true, "address": true, "district": true,
	"placed_at": true, "dropoff_method": true, "instructions": true, "campaign_id": true,
	"dropoff_site_id": true}

// updatedColumns are the positions in orderColumns of the identity and of the columns that an
// update writes: all but the secrets.
var updatedColumns = orderColumnsWhere(func(c string) bool { return !secretColumns[c] })

// progressColumns are the positions in orderColumns of the identity and of the columns that are
// neither content nor secrets.
var progressColumns = orderColumnsWhere(func(c string) bool { return !contentColumns[c] && !secretColumns[c] })

// orderColumnsWhere returns the positions in orderColumns of the columns that keep accepts.
func orderColumnsWhere(keep func(column string) bool) []int {
	var idx []int
	for i, c := range columns(orderColumns) {
		if keep(c) {
			idx = append(idx, i)
		}
	}
	return idx
}

// pick returns the elements of xs at the positions idx.
func pick[T any](xs []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = xs[j]
	}
	return out
}

// sameContent reports whether n holds old's content (contentColumns).
func sameContent(old, n *orders.Order) bool {
	return old.StoreID == n.StoreID && old.Section == n.Section && slices.Equal(old.Items, n.Items) &&
		old.SubtotalCents == n.SubtotalCents && old.DeliveryFeeCents == n.DeliveryFeeCents &&
		old.Dropoff == n.Dropoff && old.Address == n.Address && old.District == n.District &&
		old.PlacedAt.Equal(n.PlacedAt)
}

// updateOrdersOf returns the statement that writes the columns cols (of types types, the first
// three the identity) of the orders of as many arrays, each only if it is still at the seq of
// one more array, and returns the ids of the orders written.
func updateOrdersOf(cols, types []string) string {
	var set []string
	for _, c := range cols {
		switch c {
		case "id", "platform", "platform_order_id":
			continue
		}
		v := "u." + c
		if c == "items" {
			v += "::jsonb"
		}
		set = append(set, c+" = "+v)
	}
	return `UPDATE orders o SET ` + strings.Join(set, ", ") + `
	FROM ` + unnest(1, "u", append(slices.Clip(cols), "old_seq"), append(slices.Clip(types), "bigint")) + `
	WHERE o.id = u.id AND o.platform = u.platform AND o.platform_order_id = u.platform_order_id AND o.seq = u.old_seq
	RETURNING o.id`
}

// insertPlacements writes new orders with their events, outbox rows, assignments and deliveries
// in one statement: the orders of orderRows.args (the first numOrderColumns parameters) in array
// order, each unless its id or key is taken (by a stored order or by an earlier one of the
// arrays), then the rows of the other tables whose pi is the position (from 1) of an order
// written. It returns those positions. Rows of one order position never meet those of another:
// two positions with the same id and key cannot both be written, and only the first of them
// counts as written.
var insertPlacements = func() string {
	cols := columns(orderColumns)
	n := numOrderColumns
	evFrom := n + 1 // each of the other tables' arrays start with pi
	aFrom := evFrom + 1 + len(eventTypes)
	dFrom := aFrom + 1 + len(assignmentTypes)
	return `WITH p AS (
		SELECT * FROM ` + unnest(1, "p", cols, orderColumnTypes) + `
	), o AS (
		INSERT INTO orders (` + orderColumns + `)
		SELECT ` + prefixed("p", cols) + ` FROM p ORDER BY p.ord
		ON CONFLICT DO NOTHING
		RETURNING id, platform, platform_order_id
	), ins AS (
		SELECT DISTINCT ON (p.id, p.platform, p.platform_order_id) p.ord
		FROM p JOIN o ON o.id = p.id AND o.platform = p.platform AND o.platform_order_id = p.platform_order_id
		ORDER BY p.id, p.platform, p.platform_order_id, p.ord
	), ev AS (
		SELECT ev.* FROM ` + unnest(evFrom, "ev", append([]string{"pi"}, eventCols...), append([]string{"bigint"}, eventTypes...)) + `
		WHERE ev.pi IN (SELECT ord FROM ins)
	), e AS (
		INSERT INTO order_events (` + eventColumns + `) SELECT ` + prefixed("ev", eventCols) + ` FROM ev
	), x AS (
		INSERT INTO outbox (order_id, seq) SELECT ev.order_id, ev.seq FROM ev ORDER BY ev.ord
	), a AS (
		INSERT INTO assignments (` + strings.Join(assignmentCols, ", ") + `)
		SELECT ` + prefixed("a", assignmentCols) + `
		FROM ` + unnest(aFrom, "a", append([]string{"pi"}, assignmentCols...), append([]string{"bigint"}, assignmentTypes...)) + `
		WHERE a.pi IN (SELECT ord FROM ins)
		ORDER BY a.ord
	), d AS (
		INSERT INTO deliveries (` + strings.Join(deliveryCols, ", ") + `)
		SELECT ` + prefixed("d", deliveryCols) + `
		FROM ` + unnest(dFrom, "d", append([]string{"pi"}, deliveryCols...), append([]string{"bigint"}, deliveryTypes...)) + `
		WHERE d.pi IN (SELECT ord FROM ins)
	)
	SELECT ord FROM ins`
}()

// selectByKeysOrIDs reads the orders whose key is one of the pairs ($1[i], $2[i]) or whose id is
// one of $3. An order may come twice.
var selectByKeysOrIDs = `SELECT ` + orderColumns + ` FROM orders
	WHERE (platform, platform_order_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
	UNION ALL
	SELECT ` + orderColumns + ` FROM orders WHERE id = ANY($3::text[])`

// checkStorable returns a KindInvalid error naming the field of what the database would refuse
// in an order or its events, that orders' own checks let through: a NUL byte in a text, or an
// order or delivery status it does not know. Caught here, it fails one order of a batch instead
// of the whole batch.
func checkStorable(o *orders.Order, evs []orders.Event) error {
	if !o.Status.Valid() {
		return orders.Invalid("order.status", "%q is not an order status", o.Status)
	}
	if !o.Delivery.Valid() {
		return orders.Invalid("order.delivery", "%q is not a delivery status", o.Delivery)
	}
	if o.Handover != "" && !o.Handover.Valid() {
		return orders.Invalid("order.handover", "%q is not a handover", o.Handover)
	}
	for _, f := range [...]struct{ name, v string }{
		{"order.id", o.ID}, {"order.platform", o.Platform}, {"order.platform_order_id", o.PlatformOrderID},
		{"order.store_id", o.StoreID}, {"order.address", o.Address}, {"order.district", o.District},
		{"order.rider_id", o.RiderID}, {"order.reason", o.Reason}, {"order.actor", o.Actor},
	} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return orders.Invalid(f.name, "contains a NUL byte")
		}
	}
	for i, it := range o.Items {
		if strings.IndexByte(it.SKU, 0) >= 0 {
			return orders.Invalid(fmt.Sprintf("order.items[%d].sku", i), "contains a NUL byte")
		}
		if strings.IndexByte(it.Name, 0) >= 0 {
			return orders.Invalid(fmt.Sprintf("order.items[%d].name", i), "contains a NUL byte")
		}
	}
	for i, ev := range evs {
		for _, f := range [...]struct{ name, v string }{
			{"rider_id", ev.RiderID}, {"reason", ev.Reason}, {"actor", ev.Actor},
		} {
			if strings.IndexByte(f.v, 0) >= 0 {
				return orders.Invalid(fmt.Sprintf("events[%d].%s", i, f.name), "contains a NUL byte")
			}
		}
	}
	return nil
}

// changeSet gathers the changes of orders that UpdateOrder and UpdateOrders write at once.
type changeSet struct {
	changes []change       // each order's change so far, in the order of their first change
	at      map[string]int // the index in changes of each order's change
	rows    rowSet
	// frees are the orders whose change gives back a locker slot (orders.FreesSlot).
	frees []string
}

// change is what a changeSet holds of one order: the seq it was read at, the order after its
// last change, and the index in rows.opens of the assignment the set opened for it and did not
// release, or -1.
type change struct {
	oldSeq int64
	n      orders.Order
	open   int
	same   bool // n holds the content the order was read with
}

// len returns the number of orders changed.
func (c *changeSet) len() int { return len(c.changes) }

// add adds the change of an order from old to n by evs, which orders.CheckEvents accepted; n's
// times are truncated. A second change of an order must start where its first ended. A change
// the database would refuse (checkStorable) is left out and returned as a KindInvalid error.
func (c *changeSet) add(old, n orders.Order, evs []orders.Event) error {
	if err := checkStorable(&n, evs); err != nil {
		return fmt.Errorf("update order %s: %w", n.ID, err)
	}
	i, ok := c.at[n.ID]
	open := -1
	if ok {
		if ch := &c.changes[i]; ch.n.Seq != old.Seq {
			return fmt.Errorf("update order %s: changed from seq %d, its last change in the batch left it at seq %d", n.ID, old.Seq, ch.n.Seq)
		}
		open = c.changes[i].open
	}
	if err := c.rows.addChange(0, old.Delivery, &n, evs, &open); err != nil {
		return fmt.Errorf("update order %s: %w", n.ID, err)
	}
	if !ok {
		if c.at == nil {
			c.at = make(map[string]int)
		}
		i = len(c.changes)
		c.at[n.ID] = i
		c.changes = append(c.changes, change{oldSeq: old.Seq, same: true})
	}
	ch := &c.changes[i]
	ch.n, ch.open = n, open
	ch.same = ch.same && sameContent(&old, &n)
	if orders.FreesSlot(&n, evs) {
		c.frees = append(c.frees, n.ID)
	}
	return nil
}

// batch returns the statements that write the set: the orders first, each only if it is still
// at the seq it was read at (else KindConflict: a concurrent change), then the events with
// their outbox rows, the releases of assignments before the assignments opened, so that an
// order's earlier assignment is released when its new one is written, the deliveries, and the
// locker slots the changes give back.
//
// A set of many orders is written set-based, one statement per table whatever its size. The
// change of a single order (UpdateOrder) is written row by row instead, a few statements
// that cost the server less than unnesting arrays of one element.
func (c *changeSet) batch() *pgx.Batch {
	if len(c.changes) == 1 {
		return c.rowBatch()
	}
	// The changes of an order's life leave its content as it was: then only the columns that
	// follow its life are written, not the items and the rest of what it was placed with.
	same := true
	for i := range c.changes {
		same = same && c.changes[i].same
	}
	var rows orderRows
	rows.grow(len(c.changes))
	oldSeq := make([]int64, 0, len(c.changes))
	for i := range c.changes {
		ch := &c.changes[i]
		n := ch.n
		if same {
			n.Items = nil // not written: no need to encode them
		}
		rows.add(&n)
		oldSeq = append(oldSeq, ch.oldSeq)
	}
	stmt, cols := updateOrders, updatedColumns
	if same {
		stmt, cols = updateProgress, progressColumns
	}
	args := pick(rows.args(), cols)
	b := &pgx.Batch{}
	b.Queue(stmt, append(args, oldSeq)...).Query(func(res pgx.Rows) error {
		written := make(map[string]bool, len(c.changes))
		for res.Next() {
			var id string
			if err := res.Scan(&id); err != nil {
				return err
			}
			written[id] = true
		}
		if err := res.Err(); err != nil {
			return err
		}
		for i := range c.changes {
			if ch := &c.changes[i]; !written[ch.n.ID] {
				return orders.Conflict("order %s changed since it was read at seq %d (%d of the %d orders of the batch did)",
					ch.n.ID, ch.oldSeq, len(c.changes)-len(written), len(c.changes))
			}
		}
		return nil
	})
	if c.rows.events.len() > 0 {
		b.Queue(insertEvents, c.rows.events.args()...)
	}
	if c.rows.releases.len() > 0 {
		b.Queue(releaseAssignments, c.rows.releases.args()...)
	}
	if c.rows.opens.len() > 0 {
		b.Queue(openAssignments, c.rows.opens.args()...)
	}
	if c.rows.deliveries.len() > 0 {
		b.Queue(insertDeliveries, c.rows.deliveries.args()...)
	}
	c.queueFrees(b)
	return b
}

// queueFrees adds the release of the slots of c.frees, if any, to b.
func (c *changeSet) queueFrees(b *pgx.Batch) {
	if len(c.frees) > 0 {
		b.Queue(releaseSlots, c.frees)
	}
}

// rowBatch returns the statements of batch one row at a time.
func (c *changeSet) rowBatch() *pgx.Batch {
	b := &pgx.Batch{}
	for i := range c.changes {
		ch := &c.changes[i]
		id := ch.n.ID
		b.Queue(updateOrder, append(pick(orderArgs(&ch.n), updatedColumns), ch.oldSeq)...).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != 1 {
				return orders.Conflict("order %s changed since it was read at seq %d", id, ch.oldSeq)
			}
			return nil
		})
	}
	e := &c.rows.events
	for i := range e.orderID {
		b.Queue(insertEvent, e.orderID[i], e.seq[i], e.typ[i], e.at[i], e.status[i], e.delivery[i], e.riderID[i],
			e.reason[i], e.actor[i], e.handover[i], e.expiresAt[i])
	}
	r := &c.rows.releases
	for i := range r.orderID {
		b.Queue(releaseAssignment, r.orderID[i], r.at[i], r.reason[i])
	}
	a := &c.rows.opens
	for i := range a.orderID {
		b.Queue(openAssignment, a.orderID[i], a.riderID[i], a.assignedAt[i], a.released[i], a.reason[i])
	}
	d := &c.rows.deliveries
	for i := range d.orderID {
		b.Queue(insertDelivery, d.orderID[i], d.riderID[i], d.outcome[i], d.pickedUp[i], d.deliveredAt[i],
			d.failedAt[i], d.handover[i], d.reason[i])
	}
	c.queueFrees(b)
	return b
}

// The statements of rowBatch.
const (
	// insertEvent writes one event ($1..$11, eventColumns) and its outbox row.
	insertEvent = `WITH e AS (
			INSERT INTO order_events (` + eventColumns + `)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		)
		INSERT INTO outbox (order_id, seq) VALUES ($1, $2)`
	releaseAssignment = `UPDATE assignments SET released_at = $2, reason = $3
		WHERE order_id = $1 AND released_at IS NULL`
	openAssignment = `INSERT INTO assignments (order_id, rider_id, assigned_at, released_at, reason)
		VALUES ($1, $2, $3, $4, $5)`
	insertDelivery = `INSERT INTO deliveries
		(order_id, rider_id, outcome, picked_up_at, delivered_at, failed_at, handover, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
)

// updateOrder writes every column but the identity ($1 to $3) and the secrets of an order read
// at the seq of the last parameter, from orderArgs at updatedColumns.
var updateOrder = func() string {
	cols := pick(columns(orderColumns), updatedColumns)
	var set []string
	for i, c := range cols {
		switch c {
		case "id", "platform", "platform_order_id":
			continue
		}
		set = append(set, c+" = $"+strconv.Itoa(i+1))
	}
	return `UPDATE orders SET ` + strings.Join(set, ", ") +
		` WHERE id = $1 AND platform = $2 AND platform_order_id = $3 AND seq = $` + strconv.Itoa(len(cols)+1)
}()
