package main

import (
	"context"
	"encoding/json"
	"testing"

	"zhengxiang/bench/e2e"
)

// TestBenchE2E runs a short bench e2e on the real Kafka and PostgreSQL:
// serve in this process with its fleet, the orders and pings placed at full
// speed, orders.events read back with kcat. Every order must be recorded
// once and offered. The fleet has as many riders as there are orders, so
// that the first rounds can offer every order (with fewer riders the orders
// wait for riders to come back from their trips, which a short test cannot
// afford), and it rides in real time, so that an offer's 45 s timeout is
// not cut to 0.75 s as at the benchmark's --time-scale 60, where a busy
// machine lets offers expire before the simulated riders answer.
func TestBenchE2E(t *testing.T) {
	brokers, pgURL := services(t)
	mustKcat(t)
	m, out, errOut := newTestMain()
	args := []string{"bench", "e2e", "--kafka", brokers, "--pg", pgURL, "--orders", "400", "--riders", "400",
		"--stores", "50", "--time-scale", "1", "--drain", "40s", "--no-baselines", "--json"}
	if err := m.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("bench e2e: %v\n%s", err, errOut)
	}
	var r e2e.Result
	if err := json.Unmarshal([]byte(lastLine(out.String())), &r); err != nil {
		t.Fatalf("not JSON: %v: %s", err, out)
	}
	t.Logf("%s", lastLine(out.String()))
	if r.Lost != 0 || r.Duplicated != 0 || r.Untaken != 0 {
		t.Errorf("lost %d, duplicated %d, untaken %d; want none", r.Lost, r.Duplicated, r.Untaken)
	}
	if r.Orders != 400 || r.Offered != 400 || r.NotOffered != 0 {
		t.Errorf("%d of %d orders offered, %d not", r.Offered, r.Orders, r.NotOffered)
	}
	if r.OrdersPerS <= 0 || r.SustainedPerS <= 0 || r.OfferLatencyP50Ms <= 0 || r.OfferLatencyP99Ms < r.OfferLatencyP50Ms {
		t.Errorf("rates and latencies: %+v", r)
	}
	placed, offered := 0, 0
	for _, w := range r.Windows {
		placed, offered = placed+w.Placed, offered+w.Offered
	}
	if placed != 400 || offered != 400 {
		t.Errorf("windows: %d placed, %d of them offered; want 400 and 400: %+v", placed, offered, r.Windows)
	}
	if r.Pings != 400*e2e.DefaultPingsPerOrder || r.PingsHandled != int64(r.Pings) || r.PingsDeadLettered != 0 || r.PingsPerS <= 0 {
		t.Errorf("pings: %d sent, %d handled, %d dead-lettered, %.0f/s", r.Pings, r.PingsHandled, r.PingsDeadLettered, r.PingsPerS)
	}
	// The heap at the end holds at least the 400 riders and orders, an object each.
	if r.HeapObjects < 800 || r.HeapLiveMB <= 0 {
		t.Errorf("heap at the end: %d objects, %.1f MB live", r.HeapObjects, r.HeapLiveMB)
	}
}

func TestBenchE2EUsage(t *testing.T) {
	t.Setenv(EnvKafkaBrokers, "")
	t.Setenv(EnvPGURL, "")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no broker", []string{"bench", "e2e", "--pg", "postgres://x@localhost/x"}},
		{"no database", []string{"bench", "e2e", "--kafka", "localhost:9092"}},
		{"no orders", []string{"bench", "e2e", "--kafka", "localhost:9092", "--pg", "postgres://x@localhost/x", "--orders", "0"}},
		{"negative rate", []string{"bench", "e2e", "--kafka", "localhost:9092", "--pg", "postgres://x@localhost/x", "--rate", "-1"}},
		{"an argument", []string{"bench", "e2e", "--kafka", "localhost:9092", "--pg", "postgres://x@localhost/x", "extra"}},
		{"bench of another thing", []string{"bench", "disk"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := newTestMain()
			if err := m.ParseFlags(tc.args); !IsUsage(err) {
				t.Errorf("ParseFlags(%q): got %v, want a usage error", tc.args, err)
			}
		})
	}
}
