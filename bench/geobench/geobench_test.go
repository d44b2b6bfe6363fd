package geobench

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"
)

func TestRunSmall(t *testing.T) {
	calls, last := 0, 0
	res, err := Run(context.Background(), Config{Riders: 5000, Queries: 3000, Updates: 50000, Seed: 1}, func(done, total int) {
		calls++
		if done < last || done > total {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Riders != 5000 || res.Recall != 1 {
		t.Errorf("Result = %+v, want 5000 riders and recall 1", res)
	}
	if res.UpdatesPerS <= 0 || res.Nearest10QPS <= 0 || res.QueryP50Us <= 0 || res.QueryP99Us < res.QueryP50Us {
		t.Errorf("Result = %+v", res)
	}
	if calls == 0 || last != 5000+50000+3000+2000 {
		t.Errorf("progress called %d times, last at %d", calls, last)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Config{Riders: 100, Queries: 10, Updates: 10}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{name: "defaults", cfg: Config{}, ok: true},
		{name: "negative riders", cfg: Config{Riders: -1}},
		{name: "negative queries", cfg: Config{Queries: -1}},
		{name: "negative updates", cfg: Config{Updates: -1}},
		{name: "negative staleness", cfg: Config{StaleAfter: -time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate = %v", err)
			}
		})
	}
}

// TestRunFull is the measured run at the default size (100,000 riders).
// It takes about a minute, so it runs only with ZX_GEOBENCH_FULL=1.
func TestRunFull(t *testing.T) {
	if os.Getenv("ZX_GEOBENCH_FULL") != "1" {
		t.Skip("set ZX_GEOBENCH_FULL=1 to run the full geo benchmark")
	}
	res, err := Run(context.Background(), Config{Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	t.Logf("%s", b)
	if res.Recall != 1 {
		t.Errorf("recall %v, want 1", res.Recall)
	}
}
