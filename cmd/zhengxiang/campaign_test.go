package main

import (
	"strings"
	"testing"
	"time"
)

// TestServeIntakeCampaign runs serve on the real Kafka, over PostgreSQL and
// over memory, creates the festival's campaign through REST and publishes
// orders to orders.placed with kcat: those of its section placed on its
// days (China Standard Time) carry it, the others none.
func TestServeIntakeCampaign(t *testing.T) {
	brokers, pgURL := services(t)
	kcat := mustKcat(t)
	for _, backend := range []string{"postgres", "memory"} {
		t.Run(backend, func(t *testing.T) {
			sv := startKafkaServe(t, backend, brokers, pgURL)
			fest := sv.call("POST", "/v1/campaigns", map[string]any{"name": "郑州消费节", "first_day": "2020-03-15",
				"last_day": "2020-03-22", "sections": []string{"SECTION_DEALS"}})["campaign"].(map[string]any)["id"].(string)
			stores := sv.firstStores()
			deals, flavours := stores["SECTION_DEALS"], stores["SECTION_FLAVOURS"]
			var in strings.Builder
			want := map[string]string{
				"deals-in":   fest, // 16 March
				"deals-last": fest, // the last minute of 22 March in Zhengzhou
				"deals-23rd": "",   // 23 March in Zhengzhou, still the 22nd in UTC
				"flavours":   "",   // not of its sections
			}
			placedLine(&in, "deals-in", deals, 500, "2020-03-16T10:00:00+08:00")
			placedLine(&in, "deals-last", deals, 500, "2020-03-22T23:59:00+08:00")
			placedLine(&in, "deals-23rd", deals, 500, "2020-03-22T16:30:00Z")
			placedLine(&in, "flavours", flavours, 500, "2020-03-16T10:00:00+08:00")
			sv.publish(kcat, in.String())

			var list []any
			for end := time.Now().Add(60 * time.Second); len(list) < len(want); time.Sleep(300 * time.Millisecond) {
				list, _ = sv.call("GET", "/v1/orders", nil)["orders"].([]any)
				if time.Now().After(end) {
					t.Fatalf("%d orders within a minute, want %d:\n%s", len(list), len(want), sv.errOut)
				}
			}
			for _, o := range list {
				o := o.(map[string]any)
				id, got := o["client_order_id"].(string), o["campaign_id"]
				if got == nil {
					got = ""
				}
				if w, ok := want[id]; !ok || got != w {
					t.Errorf("order %s: campaign %q, want %q", id, got, w)
				}
			}
		})
	}
}
