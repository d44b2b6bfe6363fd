package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"zhengxiang/api/auth"
)

// TestOrderLifeThroughREST drives whole orders through the REST API only: a
// platform quotes and creates, the store accepts and readies, a rider
// accepts, picks up with the code and drops off contactless, and the
// consumer's tracking shows every step in order. The second order goes
// through the store's hand-over instead of the rider's pickup.
func TestOrderLifeThroughREST(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			platform := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "meituan"})
			merchant := e.Key(auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}})
			rider := e.Key(auth.Principal{Role: auth.RoleRider, Rider: "R1"})

			// The quote lists store A, which covers the door, and not C, across town.
			q := e.Must(platform, "POST", "/v1/quotes", map[string]any{"dropoff": map[string]any{"lat": near.Lat, "lng": near.Lng}})
			var quoted []string
			for _, s := range get(q, "stores").([]any) {
				quoted = append(quoted, str(s, "store_id"))
			}
			if !slices.Contains(quoted, storeA.ID) || slices.Contains(quoted, storeC.ID) {
				t.Fatalf("quote lists %v, want %s and not %s", quoted, storeA.ID, storeC.ID)
			}

			// The consumer has the goods left in the compound's locker.
			operator := e.Key(auth.Principal{Role: auth.RoleOperator})
			e.Must(operator, "POST", "/v1/drop-sites", map[string]any{"site_id": "L-e2e", "kind": "HANDOVER_LOCKER",
				"name": "丰巢 3 号柜", "compound": "建设东路 8 号院", "gate": map[string]any{"lat": near.Lat, "lng": near.Lng}, "slots": 4})
			body := map[string]any{
				"store_id": storeA.ID, "address": "二七区 建设东路 8 号 3 单元",
				"items":   []any{map[string]any{"sku": "milk-1l", "name": "牛奶 1L", "qty": 2, "price_cents": 1290}},
				"dropoff": map[string]any{"lat": near.Lat, "lng": near.Lng}, "dropoff_method": "HANDOVER_LOCKER", "dropoff_site_id": "L-e2e",
			}
			created := e.Must(platform, "POST", "/v1/orders", body, "Idempotency-Key", "mt-1001")
			if created["created"] != true {
				t.Fatalf("first create: created = %v", created["created"])
			}
			order := get(created, "order")
			id, token, code := str(order, "id"), str(order, "tracking_token"), str(order, "pickup_code")
			if id == "" || len(token) < len(id)+23 || len(code) != 6 || str(order, "tracking_url") != "http://zx.test/track/"+token {
				t.Fatalf("created order lacks id, token, code or link: %v", order)
			}
			if str(order, "subtotal_cents") != "2580" || str(order, "client_order_id") != "mt-1001" || str(order, "district") == "" {
				t.Fatalf("created order: %v", order)
			}
			// The same key and body again: the stored order; another body: 409.
			again := e.Must(platform, "POST", "/v1/orders", body, "Idempotency-Key", "mt-1001")
			if again["created"] == true || str(again, "order", "id") != id {
				t.Fatalf("resend: %v", again)
			}
			body["items"] = []any{map[string]any{"sku": "milk-1l", "name": "牛奶 1L", "qty": 3, "price_cents": 1290}}
			if r := e.Call(platform, "POST", "/v1/orders", body, "Idempotency-Key", "mt-1001"); r.Status != http.StatusConflict {
				t.Fatalf("same key, other body: %d %s, want 409", r.Status, r.Body)
			}

			// The store sees the ticket, accepts it and marks it ready.
			tickets := e.Must(merchant, "GET", "/v1/stores/"+storeA.ID+"/tickets", nil)
			if str(tickets, "orders", 0, "id") != id || str(tickets, "orders", 0, "pickup_code") != code {
				t.Fatalf("tickets: %v", tickets)
			}
			e.Must(merchant, "POST", "/v1/orders/"+id+":accept", map[string]any{})
			ready := e.Must(merchant, "POST", "/v1/orders/"+id+":markReady", map[string]any{})
			if str(ready, "order", "status") != "ORDER_STATUS_READY_FOR_PICKUP" || str(ready, "order", "tracking_token") != "" {
				t.Fatalf("after ready (a store sees no tracking token): %v", ready)
			}

			// A rider near the store starts, is offered the trip, accepts it.
			e.Must(rider, "POST", "/v1/riders/R1:startShift", map[string]any{"position": map[string]any{"lat": storeA.Point.Lat, "lng": storeA.Point.Lng}})
			e.RoundUntilOffered(rider, "R1", storeA.Point)
			trips := e.Must(rider, "GET", "/v1/riders/R1/trips", nil)
			trip := str(trips, "trips", 0, "trip_id")
			if trip == "" || get(trips, "trips", 0, "offered") != true || str(trips, "trips", 0, "stops", 0, "pickup_code") != "" {
				t.Fatalf("offered trip (no pickup code before acceptance): %v", trips)
			}
			acc := e.Must(rider, "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{})
			if str(acc, "trip", "stops", 0, "pickup_code") != code {
				t.Fatalf("accepted trip shows pickup code %q, want %q", str(acc, "trip", "stops", 0, "pickup_code"), code)
			}
			e.Must(rider, "POST", "/v1/riders/R1/trips/"+trip+":arrive", map[string]any{})
			wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1000000)
			if r := e.Call(rider, "POST", "/v1/riders/R1/trips/"+trip+":pickUp", map[string]any{"pickup_codes": []string{wrong}}); r.Status != http.StatusBadRequest {
				t.Fatalf("pickup with a wrong code: %d %s, want 400", r.Status, r.Body)
			}
			e.Must(rider, "POST", "/v1/riders/R1/trips/"+trip+":pickUp", map[string]any{"pickup_codes": []string{code}})

			// On the road, the consumer sees the rider, coarsely.
			tr := e.Must("", "GET", "/v1/tracking/"+token, nil)
			if str(tr, "tracking", "delivery") != "DELIVERY_STATUS_PICKED_UP" || get(tr, "tracking", "rider_position") == nil {
				t.Fatalf("tracking on the road: %v", tr)
			}
			e.Must(rider, "POST", "/v1/riders/R1/orders/"+id+":arrive", map[string]any{})
			if r := e.Call(rider, "POST", "/v1/riders/R1/orders/"+id+":dropOff", map[string]any{"handover": "HANDOVER_LOCKER"}); r.Status != http.StatusBadRequest {
				t.Fatalf("a locker drop-off without its code: %d %s, want 400", r.Status, r.Body)
			}
			e.Must(rider, "POST", "/v1/riders/R1/orders/"+id+":dropOff", map[string]any{"handover": "HANDOVER_LOCKER", "code": "A-17 4821", "photo_ref": "photos/locker-1.jpg"})

			tr = e.Must("", "GET", "/v1/tracking/"+token, nil)
			if get(tr, "tracking", "rider_position") != nil || str(tr, "tracking", "handover") != "HANDOVER_LOCKER" ||
				str(tr, "tracking", "dropoff_code") != "A-17 4821" || str(tr, "tracking", "photo_ref") != "photos/locker-1.jpg" {
				t.Fatalf("tracking after drop-off (no rider position, the locker's code and the photo): %v", tr)
			}
			if o := e.Must(platform, "GET", "/v1/orders/"+id, nil); str(o, "order", "dropoff_code") != "A-17 4821" {
				t.Fatalf("the platform's order after drop-off: %v", o)
			}
			want := []string{"ORDER_CREATED", "TICKET_SENT", "MERCHANT_ACCEPTED", "READY_FOR_PICKUP", "OFFERED", "ASSIGNED",
				"ARRIVED_AT_PICKUP", "PICKUP_CODE_REJECTED", "PICKED_UP", "ARRIVED_AT_DROPOFF", "DELIVERED"}
			if got := timeline(tr); !slices.Equal(got, want) {
				t.Fatalf("timeline %v, want %v", got, want)
			}
			conf := e.Must("", "POST", "/v1/tracking/"+token+":confirm", map[string]any{})
			if get(conf, "tracking", "receipt_confirmed") != true || !slices.Equal(timeline(conf), append(want, "RECEIPT_CONFIRMED")) {
				t.Fatalf("after confirmation: %v", conf)
			}
			rc := e.Must(merchant, "GET", "/v1/orders/"+id+"/receipt", nil)
			if str(rc, "receipt", "total_cents") != "3080" || str(rc, "receipt", "lines", 0, "amount_cents") != "2580" {
				t.Fatalf("receipt: %v", rc)
			}
			evs := e.Must(platform, "GET", "/v1/orders/"+id+"/events", nil)
			for i, ev := range get(evs, "events").([]any) {
				if str(ev, "seq") != fmt.Sprint(i+1) {
					t.Fatalf("event %d has seq %s", i, str(ev, "seq"))
				}
			}

			// A second order: the store hands it over against the code.
			body["items"] = []any{map[string]any{"sku": "bread", "name": "面包", "qty": 1, "price_cents": 800}}
			second := get(e.Must(platform, "POST", "/v1/orders", body, "Idempotency-Key", "mt-1002"), "order")
			id2, code2 := str(second, "id"), str(second, "pickup_code")
			e.Must(merchant, "POST", "/v1/orders/"+id2+":accept", map[string]any{})
			e.Must(merchant, "POST", "/v1/orders/"+id2+":markReady", map[string]any{})
			e.RoundUntilOffered(rider, "R1", storeA.Point)
			trip2 := str(e.Must(rider, "GET", "/v1/riders/R1/trips", nil), "trips", 0, "trip_id")
			e.Must(rider, "POST", "/v1/riders/R1/trips/"+trip2+":accept", map[string]any{})
			if r := e.Call(merchant, "POST", "/v1/orders/"+id2+":handOver", map[string]any{"pickup_code": "000000"}); r.Status != http.StatusBadRequest && code2 != "000000" {
				t.Fatalf("hand-over with a wrong code: %d %s, want 400", r.Status, r.Body)
			}
			h := e.Must(merchant, "POST", "/v1/orders/"+id2+":handOver", map[string]any{"pickup_code": code2})
			if str(h, "order", "delivery") != "DELIVERY_STATUS_PICKED_UP" {
				t.Fatalf("after hand-over: %v", h)
			}
		})
	}
}

func timeline(tr map[string]any) []string {
	var out []string
	for _, s := range get(tr, "tracking", "timeline").([]any) {
		out = append(out, str(s, "type")[len("EVENT_TYPE_"):])
	}
	return out
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
