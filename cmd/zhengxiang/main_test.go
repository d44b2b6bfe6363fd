package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testInstance is the small MDRP instance kept with the mdrp package.
var testInstance = filepath.Join("..", "..", "bench", "mdrp", "testdata", "0r50t100s1p100")

// MustRun parses args and runs the program as main does, and returns what
// it printed. The test fails on any error.
func MustRun(tb testing.TB, args ...string) (m *Main, stdout, stderr string) {
	tb.Helper()
	m, out, errOut := newTestMain()
	if err := m.ParseFlags(args); err != nil {
		tb.Fatalf("ParseFlags(%q): %v", args, err)
	}
	if err := m.Run(context.Background()); err != nil {
		tb.Fatalf("Run(%q): %v\nstderr:\n%s", args, err, errOut)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return m, out.String(), errOut.String()
}

func newTestMain() (*Main, *bytes.Buffer, *bytes.Buffer) {
	m := NewMain(nil)
	var out, errOut bytes.Buffer
	m.Stdout, m.Stderr = &out, &errOut
	return m, &out, &errOut
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestDemoHeadlessJSON(t *testing.T) {
	// The lunch hours: some 200 orders, of every section.
	m, out, errOut := MustRun(t, "demo", "--simulate-day", "--sim-hours", "3", "--headless", "--json", "--riders", "150", "--stores", "40", "--seed", "7")
	if m.Serving() {
		t.Error("a headless demo left a server running")
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(lastLine(out)), &sum); err != nil {
		t.Fatalf("last line of stdout is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"orders", "delivered", "within_60_min_share", "click_to_door_p50_min",
		"click_to_door_p90_min", "riders", "stores", "wall_seconds", "by_section", "by_district"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
	if sum["orders"].(float64) < 100 || sum["delivered"].(float64) == 0 {
		t.Errorf("orders %v, delivered %v: want a hundred orders or more, delivered", sum["orders"], sum["delivered"])
	}
	for sec, g := range sum["by_section"].(map[string]any) {
		g := g.(map[string]any)
		if share := g["within_promise_share"].(float64); g["orders"].(float64) == 0 || share < 0 || share > 1 {
			t.Errorf("section %s: %v orders, %v within promise", sec, g["orders"], share)
		}
	}
	if sum["riders"].(float64) != 150 || sum["stores"].(float64) != 40 || sum["seed"].(float64) != 7 {
		t.Errorf("riders %v, stores %v, seed %v: want the flags' 150, 40, 7", sum["riders"], sum["stores"], sum["seed"])
	}
	for _, want := range []string{"郑享百味 Zheng-share Flavours", "郑享特惠 Zheng-share Deals", "郑享制造", "within 60 minutes", "金水区 Jinshui"} {
		if !strings.Contains(out, want) {
			t.Errorf("human summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "festival day") {
		t.Errorf("no progress bar on stderr: %q", errOut)
	}
}

func TestDemoServesSummary(t *testing.T) {
	m, _, _ := MustRun(t, "demo", "--simulate-day", "--sim-hours", "0.25", "--riders", "100", "--stores", "30", "--http-addr", "127.0.0.1:0")
	if !m.Serving() {
		t.Fatal("demo without --headless is not serving")
	}
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) (int, string) {
		resp, err := client.Get("http://" + m.Addr() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	code, body := get("/summary")
	var sum struct {
		Riders int `json:"riders"`
		Orders int `json:"orders"`
	}
	if err := json.Unmarshal([]byte(body), &sum); code != http.StatusOK || err != nil || sum.Riders != 100 {
		t.Errorf("/summary: %d %v %q", code, err, body)
	}
	if code, _ := get("/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing: %d, want 404", code)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if m.Serving() {
		t.Error("still serving after Close")
	}
}

func TestReplayMDRP(t *testing.T) {
	out := t.TempDir()
	_, stdout, _ := MustRun(t, "replay", "mdrp", "--json", "--algo", "greedy", testInstance, "--out", out)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines of JSON for one instance:\n%s", len(lines), stdout)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatalf("not JSON: %v: %s", err, lines[0])
	}
	for _, k := range []string{"instance", "algo", "orders", "delivered", "feasible", "ctd_mean", "ctd_p90",
		"pct_ctd_gt_40", "pct_ctd_gt_60", "r2p_mean", "cost_per_order", "wall_seconds"} {
		if _, ok := r[k]; !ok {
			t.Errorf("result lacks %q", k)
		}
	}
	if r["instance"] != "0r50t100s1p100" || r["algo"] != "greedy" || r["feasible"] != true || r["delivered"].(float64) == 0 {
		t.Errorf("result: %s", lines[0])
	}
	ents, err := os.ReadDir(filepath.Join(out, "0r50t100s1p100"))
	if err != nil || len(ents) == 0 {
		t.Errorf("no solution written under %s: %v", out, err)
	}
}

// TestReplayMDRPLegsInSeconds measures the same replay with legs timed to
// the second: the solution is the same, so every order arrives no later.
func TestReplayMDRPLegsInSeconds(t *testing.T) {
	ctd := func(args ...string) float64 {
		_, stdout, _ := MustRun(t, append([]string{"replay", "mdrp", "--json", testInstance}, args...)...)
		var r struct {
			CTDMean  float64 `json:"ctd_mean"`
			Feasible bool    `json:"feasible"`
		}
		if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &r); err != nil || !r.Feasible {
			t.Fatalf("%v: %s", err, stdout)
		}
		return r.CTDMean
	}
	minutes, seconds := ctd(), ctd("--legs", "seconds")
	if !(seconds < minutes) {
		t.Errorf("click-to-door mean %.2f with legs in seconds, %.2f in minutes: want it lower", seconds, minutes)
	}
}

func TestReplayMDRPTable(t *testing.T) {
	ref := filepath.Join(t.TempDir(), "reference.csv")
	const csv = "instance,algo,feasible,delivered,orders,total_payment,frac_couriers_guarantee,ctd_mean,ctd_p50,ctd_p90,ctd_max,pct_ctd_gt_40,pct_ctd_gt_60,pct_ctd_gt_90,ctd_overage_mean,r2p_mean,r2p_p90,r2d_mean,courier_hours,orders_per_courier_hour,cost_per_order,orders_per_bundle_mean,utilization_mean\n" +
		"0r50t100s1p100,FM,FEASIBLE,242,242,2720.85,0.5,32.05,31.0,42.89,70.0,18.18,0.83,0.0,1.0,2.65,6.0,14.0,150.0,1.6,11.243,1.0,0.6\n"
	if err := os.WriteFile(ref, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	// A folder of instances stands for each of them.
	_, stdout, _ := MustRun(t, "replay", "mdrp", "--reference", ref, filepath.Dir(testInstance))
	for _, want := range []string{"0r50t100s1p100", "average of 1 (engine)", "FM, same 1", "32.05"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "MDRP, same") {
		t.Errorf("table shows MDRP averages the reference does not have:\n%s", stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no command", nil},
		{"unknown command", []string{"frob"}},
		{"unknown flag", []string{"demo", "--bogus"}},
		{"bad algo", []string{"demo", "--algo", "magic"}},
		{"bad number", []string{"demo", "--riders", "many"}},
		{"no riders", []string{"demo", "--riders", "0"}},
		{"negative hours", []string{"demo", "--sim-hours", "-1"}},
		{"no hours", []string{"demo", "--sim-hours", "0"}},
		{"stray argument", []string{"demo", "extra"}},
		{"replay of what", []string{"replay"}},
		{"replay of another benchmark", []string{"replay", "tsp", "dir"}},
		{"replay without instances", []string{"replay", "mdrp", "--json"}},
		{"replay with a bad algo", []string{"replay", "mdrp", "--algo", "x", "dir"}},
		{"replay with bad legs", []string{"replay", "mdrp", "--legs", "hours", "dir"}},
		{"bench of what", []string{"bench"}},
		{"bench geo with an argument", []string{"bench", "geo", "extra"}},
		{"version with an argument", []string{"version", "now"}},
		{"help on an unknown command", []string{"help", "frob"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := newTestMain()
			err := m.ParseFlags(tc.args)
			if !IsUsage(err) {
				t.Errorf("ParseFlags(%q): got %v, want a usage error", tc.args, err)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"help"}, []string{"demo", "replay mdrp", "bench geo", "version"}},
		{[]string{"--help"}, []string{"demo"}},
		{[]string{"help", "demo"}, []string{"-sim-hours", "-headless", "-json", "-http-addr"}},
		{[]string{"help", "replay", "mdrp"}, []string{"INSTANCE_DIR", "-reference", "-out"}},
		{[]string{"help", "bench", "geo"}, []string{"-riders", "-queries"}},
		{[]string{"demo", "-h"}, []string{"-sim-hours"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			m, out, _ := newTestMain()
			if err := m.ParseFlags(tc.args); !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("ParseFlags(%q): %v, want flag.ErrHelp", tc.args, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestVersion(t *testing.T) {
	_, out, _ := MustRun(t, "version")
	if !strings.HasPrefix(out, "zhengxiang ") {
		t.Errorf("version: %q", out)
	}
}

func TestBenchGeo(t *testing.T) {
	_, out, _ := MustRun(t, "bench", "geo", "--riders", "2000", "--queries", "500", "--updates", "5000", "--json")
	var r struct {
		Riders       int     `json:"riders"`
		UpdatesPerS  float64 `json:"updates_per_s"`
		Nearest10QPS float64 `json:"nearest10_qps"`
		Recall       float64 `json:"recall"`
	}
	if err := json.Unmarshal([]byte(lastLine(out)), &r); err != nil {
		t.Fatalf("not JSON: %v: %s", err, out)
	}
	if r.Riders != 2000 || r.UpdatesPerS <= 0 || r.Nearest10QPS <= 0 || r.Recall < 0.99 {
		t.Errorf("bench geo: %+v", r)
	}
	_, out, _ = MustRun(t, "bench", "geo", "--riders", "1000", "--queries", "100", "--updates", "1000")
	for _, w := range []string{"riders", "updates_per_s", "nearest10_qps", "recall"} {
		if !strings.Contains(out, w) {
			t.Errorf("bench geo output lacks %q:\n%s", w, out)
		}
	}
}
