package server_test

import (
	"net/http"
	"testing"
	"time"

	"zhengxiang/api/auth"
	"zhengxiang/api/server/servertest"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// acrossTown is a door in 金水区 20.5 km north-east of the factory outlet
// storeF and 12 km from storeC, outside every 1-hour circle of the tests.
var acrossTown = geo.Point{Lat: 34.8442, Lng: 113.8273}

// TestMadeCityWide: a 郑享制造 factory outlet delivers to the whole city
// by same-city logistics. A quote 20 km away lists it with its same-day
// promise and its capped same-city fee, and no store of the 1-hour circle;
// an order there is created with that fee, shown on its receipt, and is
// offered at 10:00, its collection wave, to the rider at the factory, the
// rounds keeping to a 60-minute click-to-door limit; the 1-hour stores
// refuse that address (400 naming dropoff).
func TestMadeCityWide(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := servertest.New(t, servertest.Options{Backend: backend, Stores: []orders.Store{storeA, storeC, storeF},
				Configure: func(cfg *dispatch.Config) { cfg.MaxClickToDoor = time.Hour }})
			platform := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "jddj"})
			merchant := e.Key(auth.Principal{Role: auth.RoleMerchant, Stores: []string{storeF.ID}})
			rider := e.Key(auth.Principal{Role: auth.RoleRider, Rider: "R1"})
			day := orders.DayOf(e.Clock.Now()).AddDays(1)
			at := func(h, m int) time.Time {
				return day.Start().Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
			}
			is := func(v any, want time.Time) bool {
				got, err := time.Parse(time.RFC3339Nano, str(v))
				return err == nil && got.Equal(want)
			}
			far := map[string]any{"lat": acrossTown.Lat, "lng": acrossTown.Lng}
			e.Clock.Set(at(8, 0))

			q := e.Must(platform, "POST", "/v1/quotes", map[string]any{"dropoff": far})
			if stores, _ := get(q, "stores").([]any); len(stores) != 1 {
				t.Fatalf("quote 20 km away: %v, want the factory outlet only", q)
			}
			f := quoteOf(t, q, storeF.ID)
			if !is(get(f, "promise_at"), at(21, 0)) || str(f, "delivery_fee_cents") != "1000" || get(f, "distance_m").(float64) < 20000 {
				t.Fatalf("quote of the factory 20 km away: %v, want a promise of 21:00 and the same-city fee of 1000", f)
			}
			// Near the factory the fee is the base fee, as for any store.
			q = e.Must(platform, "POST", "/v1/quotes", map[string]any{"dropoff": map[string]any{"lat": near.Lat, "lng": near.Lng}})
			if f := quoteOf(t, q, storeF.ID); str(f, "delivery_fee_cents") != "500" {
				t.Fatalf("quote of the factory 350 m away: %v, want the base fee of 500", f)
			}
			quoteOf(t, q, storeA.ID)

			create := func(store, key string) servertest.Reply {
				return e.Call(platform, "POST", "/v1/orders", map[string]any{
					"store_id": store, "address": "金水区 龙湖 8 号", "dropoff": far,
					"items": []any{map[string]any{"sku": "towel-3", "name": "毛巾 三条装", "qty": 1, "price_cents": 3900}},
				}, "Idempotency-Key", key)
			}
			for _, st := range []orders.Store{storeA, storeC} {
				wantStatus(t, "a 1-hour store 20 km away", create(st.ID, "jd-far-"+st.ID), http.StatusBadRequest, "dropoff")
			}
			r := create(storeF.ID, "jd-far-f")
			if r.Status != http.StatusOK {
				t.Fatalf("order of the factory 20 km away: %d %s", r.Status, r.Body)
			}
			o := get(r.JSON(t), "order")
			id := str(o, "id")
			if !is(get(o, "ready_at"), at(10, 0)) || !is(get(o, "promise_at"), at(21, 0)) || str(o, "delivery_fee_cents") != "1000" {
				t.Fatalf("order of the factory 20 km away: %v", o)
			}
			rc := e.Must(merchant, "GET", "/v1/orders/"+id+"/receipt", nil)
			if str(rc, "receipt", "delivery_fee_cents") != "1000" || str(rc, "receipt", "total_cents") != "4900" || get(rc, "receipt", "free_delivery") == true {
				t.Fatalf("receipt: %v, want the same-city fee of 1000 in a total of 4900", rc)
			}

			e.Clock.Set(at(9, 50))
			e.Must(rider, "POST", "/v1/riders/R1:startShift", map[string]any{
				"position": map[string]any{"lat": storeF.Point.Lat, "lng": storeF.Point.Lng}, "capacity": 4})
			round := func(now time.Time) map[string]any {
				e.Clock.Set(now)
				e.Must(rider, "POST", "/v1/riders/R1/locations:batchReport", map[string]any{"locations": []any{map[string]any{
					"position": map[string]any{"lat": storeF.Point.Lat, "lng": storeF.Point.Lng}, "at": now.Format(time.RFC3339Nano)}}})
				if st := e.Round(); len(st.Cancelled) > 0 {
					t.Fatalf("round at %s cancelled %v", now.Format("15:04"), st.Cancelled)
				}
				return e.Must(rider, "GET", "/v1/riders/R1/trips", nil)
			}
			if trips := round(at(9, 59)); get(trips, "trips", 0) != nil {
				t.Fatalf("offered before the wave: %v", trips)
			}
			trips := round(at(10, 0))
			if get(trips, "trips", 0, "offered") != true || str(trips, "trips", 0, "stops", 0, "order_id") != id ||
				!is(get(trips, "trips", 0, "stops", 0, "promise_at"), at(21, 0)) {
				t.Fatalf("trips at the wave: %v, want the order offered, promised by 21:00", trips)
			}
			if pickup, err := time.Parse(time.RFC3339Nano, str(trips, "trips", 0, "pickup_at")); err != nil || pickup.After(at(10, 5)) {
				t.Fatalf("pickup at %s, want at the wave", str(trips, "trips", 0, "pickup_at"))
			}
		})
	}
}
