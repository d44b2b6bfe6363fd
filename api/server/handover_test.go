package server_test

import (
	"strings"
	"testing"

	"zhengxiang/api/auth"
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
	e.Must(rider, "POST", "/v1/riders/R1/trips/"+trip+":pickUp", map[string]any{"pickup_codes": []string{str(h.trip, "stops", 0, "pickup_code")}})
	e.Must(rider, "POST", "/v1/riders/R1/orders/"+h.id+":arrive", map[string]any{})
	return h
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
			if got := str(e.Must("", "GET", "/v1/tracking/"+h.token, nil), "tracking", "handover_code"); got != code {
				t.Fatalf("tracking shows hand-over code %q, want %q", got, code)
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
