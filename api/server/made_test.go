package server_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"zhengxiang/api/auth"
	"zhengxiang/api/server/servertest"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// storeF is a factory outlet of 郑享制造 near the Erqi Tower.
var storeF = orders.Store{ID: "S-F", Name: "郑州毛纺厂 工厂店", District: "二七区", Section: orders.SectionMade,
	Point: geo.Point{Lat: 34.7520, Lng: 113.6330}, PrepMinutes: 30}

// TestMadeServiceClass follows factory orders of one day through REST: the
// quote promises a factory's goods by 21:00 of the day, the 1-hour store
// within the hour; orders placed up to 09:30 go with the 10:00 collection
// wave and are promised by 21:00 on the order and its tracking, one placed
// at 09:31 goes with the 13:00 wave; no rider is offered them before 10:00,
// and at 10:00 the rider at the factory is offered the wave's four orders
// in one trip, more than the 1-hour circle's bundles of three.
func TestMadeServiceClass(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := servertest.New(t, servertest.Options{Backend: backend, Stores: []orders.Store{storeA, storeF}})
			platform := e.Key(auth.Principal{Role: auth.RolePlatform, Platform: "jddj"})
			rider := e.Key(auth.Principal{Role: auth.RoleRider, Rider: "R1"})
			day := orders.DayOf(e.Clock.Now()).AddDays(1)
			at := func(h, m int) time.Time {
				return day.Start().Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
			}
			is := func(v any, want time.Time) bool {
				got, err := time.Parse(time.RFC3339Nano, str(v))
				return err == nil && got.Equal(want)
			}
			drop := map[string]any{"lat": near.Lat, "lng": near.Lng}

			e.Clock.Set(at(8, 0))
			q := e.Must(platform, "POST", "/v1/quotes", map[string]any{"dropoff": drop})
			if f := quoteOf(t, q, storeF.ID); !is(get(f, "promise_at"), at(21, 0)) || get(f, "promise_minutes") != float64(13*60) {
				t.Fatalf("quote of the factory at 08:00: %v, want a promise of 21:00, 780 minutes", f)
			}
			if a := quoteOf(t, q, storeA.ID); get(a, "promise_minutes").(float64) > 60 {
				t.Fatalf("quote of the 1-hour store: %v", a)
			}

			create := func(n int) map[string]any {
				return get(e.Must(platform, "POST", "/v1/orders", map[string]any{
					"store_id": storeF.ID, "address": "二七区 大学路 12 号",
					"items":   []any{map[string]any{"sku": "towel-3", "name": "毛巾 三条装", "qty": 1, "price_cents": 3900}},
					"dropoff": map[string]any{"lat": near.Lat - 0.002*float64(n%3), "lng": near.Lng + 0.002*float64(n%2)},
				}, "Idempotency-Key", fmt.Sprintf("jd-f-%d", n)), "order").(map[string]any)
			}
			var wave []string
			for n, placed := range []time.Time{at(8, 0), at(8, 40), at(9, 10), at(9, 30)} {
				e.Clock.Set(placed)
				o := create(n)
				if !is(get(o, "ready_at"), at(10, 0)) || !is(get(o, "promise_at"), at(21, 0)) {
					t.Fatalf("order placed at %s: ready %v, promised %v; want the 10:00 wave, by 21:00", placed.Format("15:04"), get(o, "ready_at"), get(o, "promise_at"))
				}
				tr := e.Must("", "GET", "/v1/tracking/"+str(o, "tracking_token"), nil)
				if !is(get(tr, "tracking", "promise_at"), at(21, 0)) {
					t.Fatalf("tracking of the order placed at %s: %v", placed.Format("15:04"), tr)
				}
				wave = append(wave, str(o, "id"))
			}
			e.Clock.Set(at(9, 31))
			late := create(9)
			if !is(get(late, "ready_at"), at(13, 0)) || !is(get(late, "promise_at"), at(21, 0)) {
				t.Fatalf("order placed at 09:31: ready %v, promised %v; want the 13:00 wave, by 21:00", get(late, "ready_at"), get(late, "promise_at"))
			}

			// The rider waits at the factory; rounds until 09:59 offer nothing.
			e.Clock.Set(at(9, 50))
			e.Must(rider, "POST", "/v1/riders/R1:startShift", map[string]any{
				"position": map[string]any{"lat": storeF.Point.Lat, "lng": storeF.Point.Lng}, "capacity": 8})
			round := func(now time.Time) {
				e.Clock.Set(now)
				e.Must(rider, "POST", "/v1/riders/R1/locations:batchReport", map[string]any{"locations": []any{map[string]any{
					"position": map[string]any{"lat": storeF.Point.Lat, "lng": storeF.Point.Lng}, "at": now.Format(time.RFC3339Nano)}}})
				if st := e.Round(); len(st.Cancelled) > 0 {
					t.Fatalf("round at %s cancelled %v", now.Format("15:04"), st.Cancelled)
				}
			}
			for _, now := range []time.Time{at(9, 50), at(9, 55), at(9, 59)} {
				round(now)
				if trips := e.Must(rider, "GET", "/v1/riders/R1/trips", nil); get(trips, "trips", 0) != nil {
					t.Fatalf("offered at %s, before the wave: %v", now.Format("15:04"), trips)
				}
			}

			round(at(10, 0))
			trips := e.Must(rider, "GET", "/v1/riders/R1/trips", nil)
			if get(trips, "trips", 1) != nil || get(trips, "trips", 0, "offered") != true || str(trips, "trips", 0, "store_id") != storeF.ID {
				t.Fatalf("trips at the wave: %v, want one trip offered from the factory", trips)
			}
			var carried []string
			for _, s := range get(trips, "trips", 0, "stops").([]any) {
				carried = append(carried, str(s, "order_id"))
				if !is(get(s, "promise_at"), at(21, 0)) {
					t.Errorf("stop %v: want the promise of 21:00", s)
				}
			}
			slices.Sort(carried)
			slices.Sort(wave)
			if !slices.Equal(carried, wave) {
				t.Fatalf("the wave's trip carries %v, want %v", carried, wave)
			}
		})
	}
}
