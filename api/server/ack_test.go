package server_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"zhengxiang/api/auth"
	"zhengxiang/api/server/servertest"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// TestMerchantAckThroughREST runs the engine with a ten-minute
// acknowledgement timeout: a ticket not answered in time is auto-cancelled
// with the reason and its rider keeps only the rest of the trip, the
// consumer's tracking shows it, an accepted one goes on, and the store that
// missed three tickets is flagged to operators.
func TestMerchantAckThroughREST(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := servertest.New(t, servertest.Options{Backend: backend, Stores: []orders.Store{storeA, storeB, storeC},
				Configure: func(c *dispatch.Config) { c.AckTimeout = 10 * time.Minute }})
			k := newSuspensionKeys(e, "R1")
			platformB := fastKey(e, auth.Principal{Role: auth.RolePlatform, Platform: "eleme"})
			t0 := e.Clock.Now()
			silent := place(e, k.platform, storeA, "ack-silent", milk)
			answered := place(e, k.platform, storeA, "ack-answered", loaf)
			e.Must(k.merchantA, "POST", "/v1/orders/"+answered+":accept", map[string]any{})

			// A rider takes both before the store has answered the first.
			startRider(e, k.riders["R1"], "R1", storeA.Point, 3)
			pings := map[string]geo.Point{"R1": storeA.Point}
			trip := offerTo(e, "R1", pings)
			e.Must(k.riders["R1"], "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{})
			if h := holds(e, k.riders["R1"], "R1"); len(h) != 2 {
				t.Fatalf("R1 holds %v, want both orders", h)
			}

			// Just before the timeout nothing happens; just after, the silent one ends.
			at := func(d time.Duration) {
				e.Clock.Set(t0.Add(d))
				_ = e.Engine.Ping("R1", storeA.Point)
				e.Round()
			}
			at(10*time.Minute - time.Second)
			if o := order(e, silent); o.Status != orders.StatusTicketSent {
				t.Fatalf("before the timeout: %s", o.Status)
			}
			at(10*time.Minute + time.Second)
			o := order(e, silent)
			if o.Status != orders.StatusAutoCancelled || o.Reason != dispatch.NoResponse || o.Actor != orders.ActorSystem {
				t.Fatalf("after the timeout: %s by %q for %q, want AUTO_CANCELLED for %q", o.Status, o.Actor, o.Reason, dispatch.NoResponse)
			}
			evs := events(e, silent)
			if last := evs[len(evs)-1]; last.Type != orders.EventAutoCancelled || last.RiderID != "R1" || !last.At.Equal(t0.Add(10*time.Minute+time.Second)) {
				t.Fatalf("the auto-cancellation: %+v, want at the round's time releasing R1", last)
			}
			tr := e.Must("", "GET", "/v1/tracking/"+o.TrackingToken(), nil)
			line := asList(get(tr, "tracking", "timeline"))
			if str(tr, "tracking", "status") != "ORDER_STATUS_AUTO_CANCELLED" || str(line[len(line)-1], "type") != "EVENT_TYPE_AUTO_CANCELLED" ||
				str(line[len(line)-1], "reason") != dispatch.NoResponse {
				t.Fatalf("tracking of the auto-cancelled order: %v", tr)
			}
			if h := holds(e, k.riders["R1"], "R1"); !slices.Equal(h, []string{answered}) {
				t.Fatalf("R1 holds %v, want only the answered order", h)
			}
			if o := order(e, answered); o.Status != orders.StatusMerchantAccepted || o.Delivery != orders.DeliveryAssigned {
				t.Fatalf("the answered order: %s/%s", o.Status, o.Delivery)
			}
			if r := e.Call(k.merchantA, "POST", "/v1/orders/"+silent+":accept", map[string]any{}); r.Status != http.StatusConflict {
				t.Fatalf("accepting after the auto-cancellation: %d %s, want 409", r.Status, r.Body)
			}
			// One miss does not flag.
			if st := storeInfo(e, k.op, storeA.ID); get(st, "missed_acks") != float64(1) || get(st, "flagged") == true {
				t.Fatalf("store A after one miss: %v", st)
			}

			// Two more misses at store A flag it; one at store B does not.
			t1 := e.Clock.Now()
			place(e, k.platform, storeA, "ack-silent-2", milk)
			place(e, k.platform, storeA, "ack-silent-3", loaf)
			place(e, platformB, storeB, "ack-silent-b", milk)
			e.Clock.Set(t1.Add(10*time.Minute + time.Second))
			_ = e.Engine.Ping("R1", storeA.Point)
			if st := e.Round(); len(st.Cancelled) != 3 {
				t.Fatalf("the round auto-cancelled %v, want 3 orders", st.Cancelled)
			}
			if st := storeInfo(e, k.op, storeA.ID); get(st, "missed_acks") != float64(3) || get(st, "flagged") != true {
				t.Fatalf("store A after three misses: %v, want flagged", st)
			}
			if st := storeInfo(e, k.op, storeB.ID); get(st, "missed_acks") != float64(1) || get(st, "flagged") == true {
				t.Fatalf("store B after one miss: %v", st)
			}
			if st := storeInfo(e, k.op, storeC.ID); get(st, "missed_acks") != nil {
				t.Fatalf("store C: %v", st)
			}
			if st := storeInfo(e, k.platform, storeA.ID); get(st, "missed_acks") != nil || get(st, "flagged") != nil {
				t.Fatalf("a platform sees the operators' flags: %v", st)
			}
			if v := e.Must(k.op, "GET", "/v1/dispatch", nil); !slices.Equal(asList(get(v, "flagged_store_ids")), []any{storeA.ID}) {
				t.Fatalf("dispatch view's flagged stores: %v", get(v, "flagged_store_ids"))
			}
			// The misses fall out of the window after a day.
			e.Clock.Set(t1.Add(25 * time.Hour))
			if st := storeInfo(e, k.op, storeA.ID); get(st, "missed_acks") != nil || get(st, "flagged") != nil {
				t.Fatalf("store A a day later: %v", st)
			}
		})
	}
}

// storeInfo returns one store of GET /v1/stores as the caller sees it.
func storeInfo(e *env, key, id string) any {
	e.T.Helper()
	for _, st := range asList(get(e.Must(key, "GET", "/v1/stores", nil), "stores")) {
		if str(st, "store_id") == id {
			return st
		}
	}
	e.T.Fatalf("store %s not listed", id)
	return nil
}
