package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"zhengxiang/api/auth"
)

// TestRESTRefusals checks what a refused REST call looks like: the HTTP
// status of its gRPC code and a google.rpc.Status body with nothing else.
func TestRESTRefusals(t *testing.T) {
	e := newEnv(t, "memory")
	platform := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "meituan"})
	other := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "eleme"})
	merchant := e.Key(auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeA.ID}})
	body := map[string]any{"store_id": storeA.ID, "dropoff": map[string]any{"lat": near.Lat, "lng": near.Lng},
		"items": []any{map[string]any{"sku": "tea", "name": "茶", "qty": 1, "price_cents": 1500}}}
	id := str(e.Must(platform, "POST", "/v1/orders", body, "Idempotency-Key", "r-1"), "order", "id")

	for _, c := range []struct {
		name, key, method, path string
		body                    any
		want                    int
	}{
		{"no key", "", "GET", "/v1/orders/" + id, nil, http.StatusUnauthorized},
		{"a made-up key", "zx_0123456789abcdef_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "GET", "/v1/orders/" + id, nil, http.StatusUnauthorized},
		{"another platform's order", other, "GET", "/v1/orders/" + id, nil, http.StatusNotFound},
		{"a merchant on the dispatch desk", merchant, "GET", "/v1/dispatch", nil, http.StatusForbidden},
		{"a merchant on another store", merchant, "GET", "/v1/stores/" + storeB.ID + "/tickets", nil, http.StatusForbidden},
		{"an unknown order", platform, "GET", "/v1/orders/Onosuchorder", nil, http.StatusNotFound},
		{"a bad field", platform, "POST", "/v1/quotes", map[string]any{"dropoff": map[string]any{"lat": 91, "lng": 113.6}}, http.StatusBadRequest},
		{"outside the service area", platform, "POST", "/v1/quotes", map[string]any{"dropoff": map[string]any{"lat": 39.9, "lng": 116.4}}, http.StatusBadRequest},
		{"a forged tracking token", "", "GET", "/v1/tracking/" + id + ".AAAAAAAAAAAAAAAAAAAAAA", nil, http.StatusNotFound},
	} {
		r := e.Call(c.key, c.method, c.path, c.body)
		if r.Status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, r.Status, r.Body, c.want)
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Errorf("%s: body %s is not a JSON object", c.name, r.Body)
			continue
		}
		for k := range m {
			if !slices.Contains([]string{"code", "message", "details"}, k) {
				t.Errorf("%s: the refusal carries %q: %s", c.name, k, r.Body)
			}
		}
	}
	// The bad field is named in a BadRequest detail.
	r := e.Call(platform, "POST", "/v1/quotes", map[string]any{"dropoff": map[string]any{"lat": 91, "lng": 113.6}})
	if f := str(r.JSON(t), "details", 0, "field_violations", 0, "field"); f != "dropoff" {
		t.Errorf("bad field named %q, want dropoff: %s", f, r.Body)
	}
}

// TestRateLimit checks that a key over its rate gets 429 with Retry-After.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, "memory")
	k, stored, err := auth.NewKey(auth.Principal{Role: auth.RoleBureau})
	if err != nil {
		t.Fatal(err)
	}
	stored.RatePerSecond, stored.Burst = 0.5, 2
	if err := e.Keys.Put(e.Ctx, stored); err != nil {
		t.Fatal(err)
	}
	var codes []int
	var retry string
	for range 4 {
		r := e.Call(k, "GET", "/v1/figures", nil)
		codes = append(codes, r.Status)
		if r.Status == http.StatusTooManyRequests {
			retry = r.Header.Get("Retry-After")
		}
	}
	if !slices.Equal(codes, []int{200, 200, 429, 429}) {
		t.Fatalf("statuses %v, want two answers then 429s", codes)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 || n > 3 {
		t.Fatalf("Retry-After %q, want 1 to 3 seconds", retry)
	}
}

// TestMethodNotAllowed checks that a path asked with a method it does not
// serve is the client's error (405), not the server's.
func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, "memory")
	for _, c := range []struct{ method, path string }{{"PUT", "/v1/orders"}, {"DELETE", "/v1/figures"}, {"PATCH", "/v1/tracking/x"}} {
		if r := e.Call("", c.method, c.path, nil); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d %s, want 405", c.method, c.path, r.Status, r.Body)
		}
	}
	if r := e.Call("", "GET", "/v1/nothing/here", nil); r.Status != http.StatusNotFound {
		t.Errorf("GET /v1/nothing/here: %d, want 404", r.Status)
	}
}
