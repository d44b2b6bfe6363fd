package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"zhengxiang/api/auth"
	"zhengxiang/bench/festival"
	"zhengxiang/orders"
)

// syncBuffer is a buffer that a running command writes to while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoLive runs the live demo: it prints the console, the APIs, the
// keys and a sample order's tracking link; the order is tracked through
// the REST API and the simulated store takes it; the simulated platform
// places more orders; and the demo stops when its context ends.
func TestDemoLive(t *testing.T) {
	m := NewMain(nil)
	var out, errOut syncBuffer
	m.Stdout, m.Stderr = &out, &errOut
	args := []string{"demo", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--json",
		"--stores", "30", "--fleet", "40", "--time-scale", "60", "--order-rate", "10", "--seed", "3"}
	if err := m.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	var st demoStart
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		s := out.String()
		if i := strings.Index(s, "\n{"); i >= 0 && strings.HasSuffix(s, "}\n") {
			if err := json.Unmarshal([]byte(lastLine(s)), &st); err != nil {
				t.Fatalf("the last line is not JSON: %v\n%s", err, s)
			}
			break
		}
		select {
		case err := <-done:
			t.Fatalf("demo ended before printing its links: %v\nstdout:\n%s\nstderr:\n%s", err, s, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no links within a minute:\n%s\nstderr:\n%s", s, errOut.String())
		}
	}
	text := out.String()
	console, err := url.Parse(st.Console)
	if err != nil || console.Query().Get("operator_key") != st.Keys[auth.RoleOperator] || console.Query().Get("bureau_key") != st.Keys[auth.RoleBureau] {
		t.Errorf("console link %q does not carry the operator and bureau keys %v", st.Console, st.Keys)
	}
	for _, role := range auth.Roles {
		if k := st.Keys[role]; !strings.HasPrefix(k, "zx_") || !strings.Contains(text, k) {
			t.Errorf("the %s key %q is not printed", role, k)
		}
	}
	for _, want := range []string{st.Console, st.GRPC, st.TrackingURL, "/openapi.json"} {
		if want == "" || !strings.Contains(text, want) {
			t.Errorf("the output lacks %q:\n%s", want, text)
		}
	}
	base := strings.TrimSuffix(st.REST, "/v1/")
	if !strings.HasSuffix(st.TrackingURL, "/track/"+st.TrackingToken) || !strings.HasPrefix(st.TrackingURL, base) {
		t.Errorf("tracking link %q: want %s/track/%s", st.TrackingURL, base, st.TrackingToken)
	}

	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path, key string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("GET %s: %d, not JSON: %v: %s", path, resp.StatusCode, err, b)
		}
		return resp.StatusCode, v
	}
	// The tracking link's token opens the order through the REST API, and
	// the simulated store takes it (a minute of its clock: a second here).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		code, tr := get("/v1/tracking/"+st.TrackingToken, "")
		if code != http.StatusOK || str(tr, "tracking", "order_id") != st.OrderID {
			t.Fatalf("tracking: %d %v", code, tr)
		}
		if strings.Contains(jsonText(tr), "EVENT_TYPE_MERCHANT_ACCEPTED") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the simulated store never took the sample order: %v", tr)
		}
	}
	// The simulated platform places orders; the merchant sees its store's.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		code, list := get("/v1/orders?page_size=500", st.Keys[auth.RolePlatform])
		if code != http.StatusOK {
			t.Fatalf("list orders: %d %v", code, list)
		}
		if n, _ := list["orders"].([]any); len(n) >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the simulated platform placed no orders: %v", list)
		}
	}
	// The demo's week is the festival's campaign, which every order is in.
	_, cs := get("/v1/campaigns", st.Keys[auth.RoleBureau])
	camps, _ := cs["campaigns"].([]any)
	if len(camps) != 1 || str(camps[0].(map[string]any), "name") != "郑州消费节" || len(camps[0].(map[string]any)["sections"].([]any)) != 3 {
		t.Fatalf("campaigns: %v, want 郑州消费节 over the three sections", cs)
	}
	fest := str(camps[0].(map[string]any), "id")
	_, list := get("/v1/orders?page_size=500", st.Keys[auth.RolePlatform])
	for _, o := range list["orders"].([]any) {
		if o := o.(map[string]any); str(o, "campaign_id") != fest {
			t.Errorf("order %s: campaign %q, want %s", str(o, "id"), str(o, "campaign_id"), fest)
		}
	}
	if code, v := get("/v1/stores/"+st.StoreID+"/tickets", st.Keys[auth.RoleMerchant]); code != http.StatusOK {
		t.Errorf("the merchant's tickets: %d %v", code, v)
	}
	if code, v := get("/v1/figures", st.Keys[auth.RoleBureau]); code != http.StatusOK {
		t.Errorf("the bureau's figures: %d %v", code, v)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo: %v\nstderr:\n%s", err, errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop within 15 s of its context's end")
	}
	if _, err := client.Get(base + "/healthz"); err == nil {
		t.Error("still serving after the demo stopped")
	}
}

// str returns the string at a path of object keys, "" when absent.
func str(v map[string]any, path ...string) string {
	var cur any = v
	for _, k := range path {
		m, _ := cur.(map[string]any)
		cur = m[k]
	}
	s, _ := cur.(string)
	return s
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestDemoUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"a day flag without --simulate-day", []string{"demo", "--sim-hours", "2"}},
		{"headless live", []string{"demo", "--headless"}},
		{"a live flag with --simulate-day", []string{"demo", "--simulate-day", "--fleet", "10"}},
		{"time scale zero", []string{"demo", "--time-scale", "0"}},
		{"negative fleet", []string{"demo", "--fleet", "-1"}},
		{"negative order rate", []string{"demo", "--order-rate", "-1"}},
		{"no stores", []string{"demo", "--stores", "0"}},
		{"days without --simulate-week", []string{"demo", "--days", "2"}},
		{"days with --simulate-day", []string{"demo", "--simulate-day", "--days", "2"}},
		{"a day flag with --simulate-week", []string{"demo", "--simulate-week", "--sim-hours", "2"}},
		{"a live flag with --simulate-week", []string{"demo", "--simulate-week", "--order-rate", "1"}},
		{"a day and a week", []string{"demo", "--simulate-day", "--simulate-week"}},
		{"no days", []string{"demo", "--simulate-week", "--days", "0"}},
		{"past the festival", []string{"demo", "--simulate-week", "--days", "9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := newTestMain()
			if err := m.ParseFlags(tc.args); !IsUsage(err) {
				t.Errorf("ParseFlags(%q): got %v, want a usage error", tc.args, err)
			}
		})
	}
}

// TestDemoWeekHeadlessJSON runs two days of the festival's week with the
// quota and the drop sites switched on and checks the summary it prints.
func TestDemoWeekHeadlessJSON(t *testing.T) {
	m, out, errOut := MustRun(t, "demo", "--simulate-week", "--days", "2", "--headless", "--json",
		"--stores", "40", "--riders", "160", "--orders-per-day", "700", "--seed", "5")
	if m.Serving() {
		t.Error("a headless demo left a server running")
	}
	var sum festival.Summary
	if err := json.Unmarshal([]byte(lastLine(out)), &sum); err != nil {
		t.Fatalf("last line of stdout is not JSON: %v\n%s", err, out)
	}
	if sum.Orders < 1000 || sum.Riders != 160 || sum.Stores != 40 || sum.Seed != 5 || sum.SimHours != 48 {
		t.Fatalf("orders %d, riders %d, stores %d, seed %d, hours %v: want some 1,400 orders and the flags' 160, 40, 5 over 48 hours",
			sum.Orders, sum.Riders, sum.Stores, sum.Seed, sum.SimHours)
	}
	if len(sum.ByDay) != 2 || sum.ByDay[0].Day != "2020-03-15" || sum.ByDay[1].Day != "2020-03-16" {
		t.Fatalf("days %+v, want 15 and 16 March", sum.ByDay)
	}
	orderCount, bound := 0, 0
	for _, d := range sum.ByDay {
		orderCount += d.Orders
		for _, sec := range orders.Sections() {
			if g := d.BySection[string(sec)]; g.Orders == 0 || !(g.WithinPromiseShare > 0 && g.WithinPromiseShare <= 1) {
				t.Errorf("%s, section %s: %d orders, %v within promise", d.Day, sec, g.Orders, g.WithinPromiseShare)
			}
		}
		for _, f := range d.FreeDeliveries {
			if f.Granted > f.Quota || f.Quota == 0 {
				t.Errorf("%s, %s: %d free deliveries of a quota of %d", d.Day, f.Platform, f.Granted, f.Quota)
			}
			if f.Granted == f.Quota {
				bound++
			}
		}
	}
	if orderCount != sum.Orders || sum.Campaign.Orders != sum.Orders || sum.Campaign.Name != festival.CampaignName {
		t.Errorf("%d orders, %d by day, %d in the campaign %q", sum.Orders, orderCount, sum.Campaign.Orders, sum.Campaign.Name)
	}
	if bound == 0 || sum.FreeGranted == 0 || sum.FreeGranted > sum.FreeQuota {
		t.Errorf("free deliveries %d of %d, %d platform-days used up: want the quota used and never passed", sum.FreeGranted, sum.FreeQuota, bound)
	}
	for _, sec := range orders.Sections() {
		if g := sum.BySection[string(sec)]; g.Delivered == 0 || !(g.WithinPromiseShare > 0 && g.WithinPromiseShare <= 1) ||
			!(g.ClickToDoorP50Min > 0 && g.ClickToDoorP50Min <= g.ClickToDoorP90Min) {
			t.Errorf("section %s: %+v", sec, g)
		}
	}
	for h := range festival.DropoffLabels {
		if g := sum.Dropoffs[string(h)]; g.Orders == 0 || g.Delivered == 0 {
			t.Errorf("drop-off %s: %+v", h, g)
		}
	}
	held := 0
	for _, l := range sum.Lockers {
		if l.PeakReserved > l.Slots || l.Slots == 0 {
			t.Errorf("locker %s: %d slots held at once of %d", l.ID, l.PeakReserved, l.Slots)
		}
		held += l.PeakReserved
	}
	if len(sum.Lockers) == 0 || held == 0 || sum.DropPoints == 0 {
		t.Errorf("%d lockers, %d slots ever held, %d drop points", len(sum.Lockers), held, sum.DropPoints)
	}
	for _, want := range []string{"By day", "2020-03-16", "within promise", "郑享制造", "By the consumer's drop-off", "drop point",
		"Lockers", "郑州消费节", "free deliveries", "金水区 Jinshui"} {
		if !strings.Contains(out, want) {
			t.Errorf("human summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "festival week") {
		t.Errorf("no progress bar on stderr: %q", errOut)
	}
}

// TestDemoWeekServesSummary serves a day of the week's summary.
func TestDemoWeekServesSummary(t *testing.T) {
	m, _, _ := MustRun(t, "demo", "--simulate-week", "--days", "1", "--stores", "20", "--riders", "60", "--orders-per-day", "200", "--http-addr", "127.0.0.1:0")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + m.Addr() + "/summary")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum festival.Summary
	if err := json.NewDecoder(resp.Body).Decode(&sum); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/summary: %d %v", resp.StatusCode, err)
	}
	if len(sum.ByDay) != 1 || sum.Riders != 60 || len(sum.Lockers) == 0 || len(sum.BySection) != 3 {
		t.Errorf("/summary: %d days, %d riders, %d lockers, %d sections", len(sum.ByDay), sum.Riders, len(sum.Lockers), len(sum.BySection))
	}
}
