package server_test

import (
	"net/http"
	"strings"
	"testing"

	"zhengxiang/api/auth"
	"zhengxiang/api/server/servertest"
)

// handoverEnv is an order of store A created through REST, accepted, readied, offered to R1,
// accepted and picked up by R1, who has arrived at the door.
type handoverEnv struct {
	e                       *env
	platform, rider         string
	id, token, handoverCode string
	trip                    map[string]any
}

// mustOrderAtDoor creates an order with extra fields in the body and drives it to R1 at the door.
func mustOrderAtDoor(t *testing.T, e *env, key string, extra map[string]any) handoverEnv {
	t.Helper()
	h := mustOrderAtStore(t, e, key, extra)
	e.Must(h.rider, "POST", "/v1/riders/R1/trips/"+str(h.trip, "trip_id")+":pickUp", map[string]any{"pickup_codes": []string{str(h.trip, "stops", 0, "pickup_code")}})
	e.Must(h.rider, "POST", "/v1/riders/R1/orders/"+h.id+":arrive", map[string]any{})
	return h
}

// mustOrderAtStore creates an order with extra fields in the body and drives it to R1, who has
// accepted its trip and arrived at the store.
func mustOrderAtStore(t *testing.T, e *env, key string, extra map[string]any) handoverEnv {
	t.Helper()
	platform := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "meituan"})
	merchant := e.Key(auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}})
	rider := e.Key(auth.Principal{Role: auth.RoleRider, Rider: "R1"})
	body := map[string]any{
		"store_id": storeA.ID, "address": "二七区 建设东路 8 号 3 单元",
		"items":   []any{map[string]any{"sku": "milk-1l", "name": "牛奶 1L", "qty": 1, "price_cents": 1290}},
		"dropoff": map[string]any{"lat": near.Lat, "lng": near.Lng},
	}
	for k, v := range extra {
		body[k] = v
	}
	order := get(e.Must(platform, "POST", "/v1/orders", body, "Idempotency-Key", key), "order")
	h := handoverEnv{e: e, platform: platform, rider: rider, id: str(order, "id"), token: str(order, "tracking_token"),
		handoverCode: str(order, "handover_code")}
	e.Must(merchant, "POST", "/v1/orders/"+h.id+":accept", map[string]any{})
	e.Must(merchant, "POST", "/v1/orders/"+h.id+":markReady", map[string]any{})
	e.Must(rider, "POST", "/v1/riders/R1:startShift", map[string]any{"position": map[string]any{"lat": storeA.Point.Lat, "lng": storeA.Point.Lng}})
	e.RoundUntilOffered(rider, "R1", storeA.Point)
	trip := str(e.Must(rider, "GET", "/v1/riders/R1/trips", nil), "trips", 0, "trip_id")
	h.trip = get(e.Must(rider, "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{}), "trip").(map[string]any)
	e.Must(rider, "POST", "/v1/riders/R1/trips/"+trip+":arrive", map[string]any{})
	return h
}

// TestPickupCodeLimitThroughREST checks that wrong pickup codes are counted and limited, whether
// the rider tells them (pickUp) or the store enters them (handOver): each is 400 naming the field
// and counted on the order with a PICKUP_CODE_REJECTED event; after 5 even the right code is
// 409 and the goods stay at the store; an operator's reassignment starts the count again, and the
// next rider picks up with the code.
func TestPickupCodeLimitThroughREST(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			h := mustOrderAtStore(t, e, "mt-k1", nil)
			merchant := e.Key(auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}})
			op := e.Key(auth.Principal{Role: auth.RoleOperator})
			code := str(h.trip, "stops", 0, "pickup_code")
			wrong := "000000"
			if code == wrong {
				wrong = "000001"
			}
			pickUp := "/v1/riders/R1/trips/" + str(h.trip, "trip_id") + ":pickUp"
			handOver := "/v1/orders/" + h.id + ":handOver"
			count := func() any { return get(e.Must(op, "GET", "/v1/orders/"+h.id, nil), "order", "wrong_pickup_codes") }
			for i := 1; i <= 5; i++ {
				var r servertest.Reply
				field := "pickup_codes"
				if i%2 == 1 {
					r = e.Call(h.rider, "POST", pickUp, map[string]any{"pickup_codes": []string{wrong}})
				} else {
					r, field = e.Call(merchant, "POST", handOver, map[string]any{"pickup_code": wrong}), "pickup_code"
				}
				if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), field) {
					t.Fatalf("wrong pickup code #%d: %d %s, want 400 naming %s", i, r.Status, r.Body, field)
				}
				if n := count(); n != float64(i) {
					t.Fatalf("after wrong pickup code #%d the order counts %v", i, n)
				}
			}
			for _, r := range []servertest.Reply{
				e.Call(h.rider, "POST", pickUp, map[string]any{"pickup_codes": []string{code}}),
				e.Call(merchant, "POST", handOver, map[string]any{"pickup_code": code}),
			} {
				if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "too many wrong pickup codes") {
					t.Fatalf("the right code after 5 wrong ones: %d %s, want 409 too many wrong pickup codes", r.Status, r.Body)
				}
			}
			o := get(e.Must(op, "GET", "/v1/orders/"+h.id, nil), "order")
			if str(o, "delivery") != "DELIVERY_STATUS_ARRIVED_AT_PICKUP" || str(o, "rider_id") != "R1" {
				t.Fatalf("a locked pickup changed the order: %v", o)
			}
			tl := timeline(e.Must("", "GET", "/v1/tracking/"+h.token, nil))
			if n := strings.Count(strings.Join(tl, " "), "PICKUP_CODE_REJECTED"); n != 5 {
				t.Fatalf("timeline %v: %d PICKUP_CODE_REJECTED, want 5", tl, n)
			}

			// The operator takes the order back; the count starts again and the next rider's code works.
			e.Must(op, "POST", "/v1/orders/"+h.id+":reassign", map[string]any{"reason": "pickup code locked"})
			if n := count(); n != nil && n != float64(0) {
				t.Fatalf("after the reassignment the order counts %v wrong pickup codes, want 0", n)
			}
			e.RoundUntilOffered(h.rider, "R1", storeA.Point)
			trip := str(e.Must(h.rider, "GET", "/v1/riders/R1/trips", nil), "trips", 0, "trip_id")
			e.Must(h.rider, "POST", "/v1/riders/R1/trips/"+trip+":accept", map[string]any{})
			e.Must(h.rider, "POST", "/v1/riders/R1/trips/"+trip+":arrive", map[string]any{})
			e.Must(h.rider, "POST", "/v1/riders/R1/trips/"+trip+":pickUp", map[string]any{"pickup_codes": []string{code}})
			if d := str(e.Must(op, "GET", "/v1/orders/"+h.id, nil), "order", "delivery"); d != "DELIVERY_STATUS_PICKED_UP" {
				t.Fatalf("after the reassignment and the right code: %s, want picked up", d)
			}
		})
	}
}

// TestHandoverCodeThroughREST checks the consumer's hand-over code: six random digits drawn
// per order, shown to the platform and on tracking, never to the rider.
func TestHandoverCodeThroughREST(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			h := mustOrderAtDoor(t, e, "mt-h1", nil)
			platform := h.platform
			other := get(e.Must(platform, "POST", "/v1/orders", map[string]any{
				"store_id": storeA.ID, "address": "二七区 建设东路 9 号",
				"items":   []any{map[string]any{"sku": "bread", "name": "面包", "qty": 1, "price_cents": 800}},
				"dropoff": map[string]any{"lat": near.Lat, "lng": near.Lng},
			}, "Idempotency-Key", "mt-h2"), "order")
			code, code2 := h.handoverCode, str(other, "handover_code")
			if !sixDigits(code) || !sixDigits(code2) || code == code2 {
				t.Fatalf("hand-over codes %q and %q: want six digits each, different", code, code2)
			}
			if got := str(e.Must(platform, "GET", "/v1/orders/"+h.id, nil), "order", "handover_code"); got != code {
				t.Fatalf("the platform's order shows hand-over code %q, want %q", got, code)
			}
			tr := e.Must("", "GET", "/v1/tracking/"+h.token, nil)
			if str(tr, "tracking", "handover_code") != code || str(tr, "tracking", "dropoff_method") != "HANDOVER_DOOR" {
				t.Fatalf("tracking shows hand-over code %q (want %q) and drop-off %q (want the default DOOR)",
					str(tr, "tracking", "handover_code"), code, str(tr, "tracking", "dropoff_method"))
			}
			if _, ok := h.trip["stops"].([]any)[0].(map[string]any)["handover_code"]; ok {
				t.Fatalf("the rider's accepted trip shows a hand-over code: %v", h.trip)
			}
			if r := e.Call(h.rider, "GET", "/v1/riders/R1/trips", nil); strings.Contains(string(r.Body), "handover_code") ||
				strings.Contains(string(r.Body), `"`+code+`"`) {
				t.Fatalf("the rider's trips show the hand-over code: %s", r.Body)
			}
		})
	}
}

// sixDigits reports whether s is six decimal digits.
func sixDigits(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// TestHandoverInPersonThroughREST checks a hand-over in person against the consumer's code
// through REST: a wrong code is 400 naming code and counted, after 5 the hand-over in person is
// 409 and only a contactless drop-off remains; the right code delivers, once.
func TestHandoverInPersonThroughREST(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			inPerson := map[string]any{"dropoff_method": "HANDOVER_IN_PERSON"}
			h := mustOrderAtDoor(t, e, "mt-p1", inPerson)
			drop := "/v1/riders/R1/orders/" + h.id + ":dropOff"
			wrong := "000000"
			if h.handoverCode == wrong {
				wrong = "000001"
			}
			for i := 1; i <= 5; i++ {
				r := e.Call(h.rider, "POST", drop, map[string]any{"handover": "HANDOVER_IN_PERSON", "code": wrong})
				if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "code") {
					t.Fatalf("wrong code #%d: %d %s, want 400 naming code", i, r.Status, r.Body)
				}
				if n := get(e.Must(h.platform, "GET", "/v1/orders/"+h.id, nil), "order", "wrong_codes"); n != float64(i) {
					t.Fatalf("after wrong code #%d the order counts %v", i, n)
				}
			}
			r := e.Call(h.rider, "POST", drop, map[string]any{"handover": "HANDOVER_IN_PERSON", "code": h.handoverCode})
			if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "too many wrong codes") {
				t.Fatalf("the right code after 5 wrong ones: %d %s, want 409 too many wrong codes", r.Status, r.Body)
			}
			tl := timeline(e.Must("", "GET", "/v1/tracking/"+h.token, nil))
			if n := strings.Count(strings.Join(tl, " "), "HANDOVER_CODE_REJECTED"); n != 5 {
				t.Fatalf("timeline %v: %d HANDOVER_CODE_REJECTED, want 5", tl, n)
			}
			e.Must(h.rider, "POST", drop, map[string]any{"handover": "HANDOVER_DOOR", "photo_ref": "photos/door-1.jpg"})
			tr := e.Must("", "GET", "/v1/tracking/"+h.token, nil)
			if str(tr, "tracking", "delivery") != "DELIVERY_STATUS_DELIVERED" || str(tr, "tracking", "handover") != "HANDOVER_DOOR" {
				t.Fatalf("after the contactless fallback: %v", tr)
			}

			// Another order: the right code delivers in person; a second drop-off is refused.
			h2 := mustOrderAtDoor(t, e, "mt-p2", inPerson)
			drop2 := "/v1/riders/R1/orders/" + h2.id + ":dropOff"
			e.Must(h2.rider, "POST", drop2, map[string]any{"handover": "HANDOVER_IN_PERSON", "code": h2.handoverCode})
			o := get(e.Must(h2.platform, "GET", "/v1/orders/"+h2.id, nil), "order")
			if str(o, "delivery") != "DELIVERY_STATUS_DELIVERED" || str(o, "handover") != "HANDOVER_IN_PERSON" || str(o, "dropoff_code") != "" {
				t.Fatalf("after the right code: %v", o)
			}
			if r := e.Call(h2.rider, "POST", drop2, map[string]any{"handover": "HANDOVER_IN_PERSON", "code": h2.handoverCode}); r.Status < 400 {
				t.Fatalf("a second drop-off with the code: %d %s, want refused", r.Status, r.Body)
			}
		})
	}
}

// TestDropoffChoiceThroughREST checks the consumer's drop-off choice and instructions: stored at
// creation, shown on the rider's trip and on tracking, enforced at the drop-off (409 for
// another), and IN_PERSON falling back to DOOR only after 5 wrong codes.
func TestDropoffChoiceThroughREST(t *testing.T) {
	const words = "小区封闭，请放东门快递架，到了打电话"
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			platform := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "meituan"})
			long := map[string]any{
				"store_id": storeA.ID, "address": "二七区 建设东路 8 号",
				"items":   []any{map[string]any{"sku": "bread", "name": "面包", "qty": 1, "price_cents": 800}},
				"dropoff": map[string]any{"lat": near.Lat, "lng": near.Lng}, "instructions": strings.Repeat("x", 201),
			}
			if r := e.Call(platform, "POST", "/v1/orders", long, "Idempotency-Key", "mt-long"); r.Status != http.StatusBadRequest ||
				!strings.Contains(string(r.Body), "instructions") {
				t.Fatalf("201 bytes of instructions: %d %s, want 400 naming instructions", r.Status, r.Body)
			}

			operator := e.Key(auth.Principal{Role: auth.RoleOperator})
			e.Must(operator, "POST", "/v1/drop-sites", map[string]any{"site_id": "D-c1", "kind": "HANDOVER_DROP_POINT",
				"name": "东门快递架", "compound": "建设东路 8 号院", "gate": map[string]any{"lat": near.Lat, "lng": near.Lng}})
			h := mustOrderAtDoor(t, e, "mt-c1", map[string]any{"dropoff_method": "HANDOVER_DROP_POINT", "dropoff_site_id": "D-c1", "instructions": words})
			stop := h.trip["stops"].([]any)[0]
			if str(stop, "dropoff_method") != "HANDOVER_DROP_POINT" || str(stop, "instructions") != words {
				t.Fatalf("the rider's trip stop: %v", stop)
			}
			tr := e.Must("", "GET", "/v1/tracking/"+h.token, nil)
			if str(tr, "tracking", "dropoff_method") != "HANDOVER_DROP_POINT" || str(tr, "tracking", "instructions") != words {
				t.Fatalf("tracking: %v", tr)
			}
			drop := "/v1/riders/R1/orders/" + h.id + ":dropOff"
			if r := e.Call(h.rider, "POST", drop, map[string]any{"handover": "HANDOVER_DOOR"}); r.Status != http.StatusConflict ||
				!strings.Contains(string(r.Body), "chose DROP_POINT") {
				t.Fatalf("a door drop-off of a drop point order: %d %s, want 409", r.Status, r.Body)
			}
			e.Must(h.rider, "POST", drop, map[string]any{"handover": "HANDOVER_DROP_POINT", "code": "东门 3 号架"})

			// IN_PERSON: the door only once locked.
			h2 := mustOrderAtDoor(t, e, "mt-c2", map[string]any{"dropoff_method": "HANDOVER_IN_PERSON"})
			drop2 := "/v1/riders/R1/orders/" + h2.id + ":dropOff"
			if r := e.Call(h2.rider, "POST", drop2, map[string]any{"handover": "HANDOVER_DOOR"}); r.Status != http.StatusConflict {
				t.Fatalf("a door drop-off of an in-person order before the lock: %d %s, want 409", r.Status, r.Body)
			}
			wrong := "000000"
			if h2.handoverCode == wrong {
				wrong = "000001"
			}
			for range 5 {
				if r := e.Call(h2.rider, "POST", drop2, map[string]any{"handover": "HANDOVER_IN_PERSON", "code": wrong}); r.Status != http.StatusBadRequest {
					t.Fatalf("wrong code: %d %s, want 400", r.Status, r.Body)
				}
			}
			if r := e.Call(h2.rider, "POST", drop2, map[string]any{"handover": "HANDOVER_LOCKER", "code": "L-1"}); r.Status != http.StatusConflict {
				t.Fatalf("a locker drop-off of an in-person order after the lock: %d %s, want 409", r.Status, r.Body)
			}
			e.Must(h2.rider, "POST", drop2, map[string]any{"handover": "HANDOVER_DOOR", "photo_ref": "photos/door-2.jpg"})
			if o := e.Must(platform, "GET", "/v1/orders/"+h2.id, nil); str(o, "order", "handover") != "HANDOVER_DOOR" ||
				str(o, "order", "dropoff_method") != "HANDOVER_IN_PERSON" {
				t.Fatalf("after the fallback: %v", o)
			}
		})
	}
}
