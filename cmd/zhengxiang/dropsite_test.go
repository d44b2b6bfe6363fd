package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"zhengxiang/geo"
)

// TestServeIntakeDropSites runs serve on the real Kafka, over PostgreSQL and
// over memory, registers a compound's drop point and locker through REST and
// publishes orders to orders.placed with kcat: the orders to a site are
// recorded with the site and delivered to its gate, an order with no choice
// is recorded DOOR, and an order naming an unknown site or a site it may not
// name is dead-lettered with the field in the reason.
func TestServeIntakeDropSites(t *testing.T) {
	brokers, pgURL := services(t)
	kcat := mustKcat(t)
	for _, backend := range []string{"postgres", "memory"} {
		t.Run(backend, func(t *testing.T) {
			sv := startKafkaServe(t, backend, brokers, pgURL)
			deals := sv.firstStores()["SECTION_DEALS"]
			door := geo.Point{Lat: deals.pos.Lat + 0.004, Lng: deals.pos.Lng + 0.002}
			gate := geo.Point{Lat: deals.pos.Lat - 0.003, Lng: deals.pos.Lng - 0.002}
			for _, s := range []map[string]any{
				{"site_id": "D-k", "kind": "HANDOVER_DROP_POINT", "name": "南门快递架", "compound": "绿地小区"},
				{"site_id": "L-k", "kind": "HANDOVER_LOCKER", "name": "丰巢 南门", "compound": "绿地小区", "slots": 2},
			} {
				s["gate"] = map[string]any{"lat": gate.Lat, "lng": gate.Lng}
				sv.call("POST", "/v1/drop-sites", s)
			}

			var in strings.Builder
			now := time.Now().UTC().Format(time.RFC3339)
			line := func(id string, choice map[string]any) {
				m := map[string]any{"platform": "meituan", "platformOrderId": id, "storeId": deals.id,
					"items":   []any{map[string]any{"sku": "rice", "name": "大米", "qty": 1, "priceCents": 3990}},
					"dropoff": map[string]any{"lat": door.Lat, "lng": door.Lng}, "address": "绿地小区 3 号楼", "placedAt": now}
				for k, v := range choice {
					m[k] = v
				}
				b, _ := json.Marshal(m)
				fmt.Fprintf(&in, "%s\t%s\n", geo.AreaOf(door), b)
			}
			line("dp-1", map[string]any{"dropoffMethod": "HANDOVER_DROP_POINT", "dropoffSiteId": "D-k", "instructions": "放南门架子上"})
			line("lk-1", map[string]any{"dropoffMethod": "HANDOVER_LOCKER", "dropoffSiteId": "L-k"})
			line("door-1", nil)
			line("bad-site", map[string]any{"dropoffMethod": "HANDOVER_LOCKER", "dropoffSiteId": "nope"})
			line("bad-choice", map[string]any{"dropoffMethod": "HANDOVER_DOOR", "dropoffSiteId": "D-k"})
			sv.publish(kcat, in.String())

			list, dead := sv.awaitIntake(kcat, 3, 2)
			if len(list) != 3 || strings.Count(dead, "field=dropoff_site_id") != 2 || !strings.Contains(dead, "unknown site") {
				t.Fatalf("%d orders (want 3); dead letters, want 2 naming dropoff_site_id, one the unknown site:\n%s", len(list), dead)
			}
			for _, o := range list {
				o := o.(map[string]any)
				id, drop := o["client_order_id"].(string), o["dropoff"].(map[string]any)
				atGate := drop["lat"] == gate.Lat && drop["lng"] == gate.Lng
				switch id {
				case "dp-1", "lk-1":
					want := map[string]string{"dp-1": "D-k", "lk-1": "L-k"}[id]
					if o["dropoff_site_id"] != want || !atGate || o["address"] != "绿地小区 3 号楼" {
						t.Errorf("%s: site %v, dropoff %v (gate %v): %v", id, o["dropoff_site_id"], drop, gate, o)
					}
				case "door-1":
					if o["dropoff_method"] != "HANDOVER_DOOR" || o["dropoff_site_id"] != nil || atGate {
						t.Errorf("door-1: %v", o)
					}
				default:
					t.Errorf("unexpected order %s", id)
				}
			}
		})
	}
}
