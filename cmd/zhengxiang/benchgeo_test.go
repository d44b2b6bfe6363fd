package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"zhengxiang/bench/geobench"
	"zhengxiang/bench/geobench/postgis"
	"zhengxiang/bench/geobench/redis"
)

func TestBenchGeoBaselineNeedsAnAddress(t *testing.T) {
	t.Setenv(redis.EnvAddr, "")
	t.Setenv(postgis.EnvURL, "")
	for _, tc := range []struct {
		baseline, want string
	}{
		{"redis", redis.EnvAddr},
		{"postgis", postgis.EnvURL},
		{"redis,postgis", redis.EnvAddr},
	} {
		t.Run(tc.baseline, func(t *testing.T) {
			m, _, _ := newTestMain()
			err := m.ParseFlags([]string{"bench", "geo", "--baseline", tc.baseline})
			if !IsUsage(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseFlags: %v, want a usage error naming %s", err, tc.want)
			}
		})
	}
	m, _, _ := newTestMain()
	if err := m.ParseFlags([]string{"bench", "geo", "--baseline", "mysql"}); !IsUsage(err) {
		t.Errorf("an unknown baseline: %v, want a usage error", err)
	}
}

// TestBenchGeoBaselines runs a tiny bench geo beside the baselines whose
// services run (deploy/services.sh up --with redis,postgis); make test does
// not start them, so the test skips when neither address is set.
func TestBenchGeoBaselines(t *testing.T) {
	args := []string{"bench", "geo", "--riders", "2000", "--updates", "5000", "--queries", "500",
		"--baseline-updates", "300", "--baseline-queries", "200", "--json"}
	var names []string
	if a := os.Getenv(redis.EnvAddr); a != "" {
		args, names = append(args, "--baseline", "redis", "--redis", a), append(names, "redis")
	}
	if u := os.Getenv(postgis.EnvURL); u != "" {
		args, names = append(args, "--baseline", "postgis", "--postgis", u), append(names, "postgis")
	}
	if len(names) == 0 {
		t.Skipf("%s and %s unset: no baseline to compare with (deploy/services.sh up --with redis,postgis)", redis.EnvAddr, postgis.EnvURL)
	}
	_, out, _ := MustRun(t, args...)
	var r geobench.Result
	if err := json.Unmarshal([]byte(lastLine(out)), &r); err != nil {
		t.Fatalf("not JSON: %v: %s", err, out)
	}
	if len(r.Baselines) != len(names) {
		t.Fatalf("baselines %+v, want %v", r.Baselines, names)
	}
	for i, b := range r.Baselines {
		if b.Name != names[i] || b.Updates != 300 || b.Queries != 200 || b.UpdatesPerS <= 0 || b.Nearest10QPS <= 0 || b.Recall < 0.99 {
			t.Errorf("baseline %d: %+v", i, b)
		}
	}
}
