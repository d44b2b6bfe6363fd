package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// TestServeIntakeReach runs serve on the real Kafka, over PostgreSQL and
// over memory, and publishes to orders.placed with kcat, as CreateOrder
// takes them (dispatch.Reach): an order of a 郑享制造 factory outlet to a
// door across the city is recorded with its collection wave; an order of a
// 郑享特惠 store to that door, outside its 1-hour circle, is dead-lettered
// naming dropoff; one of that store near it is recorded.
func TestServeIntakeReach(t *testing.T) {
	brokers, pgURL := services(t)
	kcat := mustKcat(t)
	area := geo.Zhengzhou()
	for _, backend := range []string{"postgres", "memory"} {
		t.Run(backend, func(t *testing.T) {
			sv := startKafkaServe(t, backend, brokers, pgURL)
			first := sv.firstStores()
			deals, made := first["SECTION_DEALS"], first["SECTION_MADE"]
			if made.id == "" {
				t.Fatalf("serve registered no factory outlet: %v", first)
			}
			// The door of the city's far corners farthest from the Deals store,
			// beyond any 1-hour circle (at most about 10 km across).
			corners := []geo.Point{{Lat: 34.8442, Lng: 113.8273}, {Lat: 34.9117, Lng: 113.5208}, {Lat: 34.7043, Lng: 113.8497}}
			far := corners[0]
			for _, p := range corners[1:] {
				if geo.DistanceM(deals.pos, p) > geo.DistanceM(deals.pos, far) {
					far = p
				}
			}
			if geo.DistanceM(deals.pos, far) < 12000 || geo.DistanceM(made.pos, far) < 12000 || !area.Contains(far) {
				t.Fatalf("door %v is %.0f m from the Deals store and %.0f m from the factory", far, geo.DistanceM(deals.pos, far), geo.DistanceM(made.pos, far))
			}
			near := geo.Point{Lat: deals.pos.Lat + 0.004, Lng: deals.pos.Lng + 0.002}

			var in strings.Builder
			now := time.Now().UTC().Format(time.RFC3339)
			line := func(id string, s intakeStore, drop geo.Point) {
				b, _ := json.Marshal(map[string]any{"platform": "jddj", "platformOrderId": id, "storeId": s.id,
					"items":   []any{map[string]any{"sku": "towel", "name": "毛巾", "qty": 1, "priceCents": 3900}},
					"dropoff": map[string]any{"lat": drop.Lat, "lng": drop.Lng}, "deliveryFeeCents": 1000, "placedAt": now})
				fmt.Fprintf(&in, "%s\t%s\n", geo.AreaOf(drop), b)
			}
			line("far-made", made, far)
			line("far-deals", deals, far)
			line("near-deals", deals, near)
			sv.publish(kcat, in.String())

			list, dead := sv.awaitIntake(kcat, 2, 1)
			if len(list) != 2 || strings.Count(dead, "\n") != 0 || !strings.Contains(dead, "field=dropoff") || !strings.Contains(dead, "1-hour circle of store "+deals.id) {
				t.Fatalf("%d orders (want 2); dead letters, want one naming dropoff and the 1-hour circle of %s:\n%s", len(list), deals.id, dead)
			}
			var ids []string
			for _, o := range list {
				o := o.(map[string]any)
				ids = append(ids, o["client_order_id"].(string))
				if o["client_order_id"] != "far-made" {
					continue
				}
				ready, err := time.Parse(time.RFC3339Nano, o["ready_at"].(string))
				if err != nil || ready.In(orders.CST).Minute() != 0 || !slices.Contains([]int{10, 13, 16, 19}, ready.In(orders.CST).Hour()) {
					t.Errorf("the factory order across the city is ready at %v, want a collection wave: %v", o["ready_at"], o)
				}
				if d := o["dropoff"].(map[string]any); d["lat"] != far.Lat || d["lng"] != far.Lng {
					t.Errorf("the factory order goes to %v, want %v", d, far)
				}
			}
			slices.Sort(ids)
			if !slices.Equal(ids, []string{"far-made", "near-deals"}) {
				t.Fatalf("orders recorded: %v, want far-made and near-deals", ids)
			}
		})
	}
}
