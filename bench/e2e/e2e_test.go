package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"zhengxiang/bench/festival"
	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
)

func TestParsePerf(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  string
		want perfSummary
		ok   bool
	}{
		{
			name: "summary after progress lines and warnings",
			out: "Option --producer-props has been deprecated\n" +
				"[2026-11-27 21:09:24,226] WARN [Producer clientId=perf-producer-client] ... UNKNOWN_TOPIC_OR_PARTITION\n" +
				"120001 records sent, 24000.2 records/sec (4.58 MB/sec), 1200.5 ms avg latency, 1800.0 ms max latency.\n" +
				"50000 records sent, 35137.034434 records/sec (6.70 MB/sec), 406.11 ms avg latency, 824.00 ms max latency, 396 ms 50th, 559 ms 95th, 565 ms 99th, 569 ms 99.9th.\n",
			want: perfSummary{records: 50000, recordsPerS: 35137.034434, mbPerS: 6.70, avgMs: 406.11, maxMs: 824},
			ok:   true,
		},
		{name: "no summary", out: "Exception in thread \"main\" org.apache.kafka.common.KafkaException\n"},
		{name: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePerf(tc.out)
			if (err == nil) != tc.ok {
				t.Fatalf("parsePerf: %v", err)
			}
			if got != tc.want {
				t.Errorf("parsePerf = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestReadFrames(t *testing.T) {
	var in bytes.Buffer
	for _, v := range [][]byte{[]byte("a\nb"), nil, {}, []byte("third")} {
		var head [4]byte
		n := int32(len(v))
		if v == nil {
			n = -1
		}
		binary.BigEndian.PutUint32(head[:], uint32(n))
		in.Write(head[:])
		in.Write(v)
	}
	var got []string
	if err := readFrames(&in, func(v []byte, _ time.Time) { got = append(got, string(v)) }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a\nb", "", "third"}; !slices.Equal(got, want) {
		t.Errorf("frames %q, want %q", got, want)
	}
	if err := readFrames(strings.NewReader("\x00\x00\x00\x09abc"), func([]byte, time.Time) {}); err == nil {
		t.Error("a cut frame: no error")
	}
}

func TestTracker(t *testing.T) {
	tr := newTracker("run1", 3)
	t0 := time.Now()
	for i := range 3 {
		tr.sent(i, t0)
	}
	ev := func(key, id string, seq int64, typ orders.EventType) []byte {
		b, err := kafka.EncodeEvent(orders.Event{OrderID: id, Seq: seq, Type: typ, At: t0,
			Status: orders.StatusCreated, Delivery: orders.DeliveryUnassigned},
			kafka.OrderRef{Platform: "meituan", PlatformOrderID: key, StoreID: "S0001"})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	k0, k1 := orderKey("run1", 0), orderKey("run1", 1)
	tr.event(ev(k0, "O1", 1, orders.EventOrderCreated), t0)
	tr.event(ev(k0, "O1", 1, orders.EventOrderCreated), t0) // a copy
	tr.event(ev(k0, "O1", 5, orders.EventOffered), t0.Add(300*time.Millisecond))
	tr.event(ev(k0, "O1", 9, orders.EventOffered), t0.Add(time.Second)) // offered again later
	tr.event(ev(k1, "O2", 1, orders.EventOrderCreated), t0)
	tr.event(ev(k1, "O3", 1, orders.EventOrderCreated), t0)                      // a second order for one key
	tr.event(ev(k1, "O3", 1, orders.EventOrderCreated), t0)                      // and a copy of it
	tr.event(ev("run2-0000000", "O4", 1, orders.EventOrderCreated), t0)          // another run's
	tr.event([]byte("not protobuf at all, not even close \xff\xff\xff\xff"), t0) // garbage

	if tr.createdCount() != 2 || !tr.created(0) || !tr.created(1) || tr.created(2) {
		t.Errorf("created: %d", tr.createdCount())
	}
	if tr.createdIDs(1) != 2 || tr.createdIDs(0) != 1 {
		t.Errorf("order ids: %d and %d", tr.createdIDs(0), tr.createdIDs(1))
	}
	if tr.copies() != 2 {
		t.Errorf("copies %d, want 2", tr.copies())
	}
	lat, sent, offers := tr.latencies()
	at := t0.Add(300 * time.Millisecond).UnixNano()
	if tr.offeredCount() != 1 || len(lat) != 3 || lat[0] != 300 || !math.IsInf(lat[1], 1) || !math.IsInf(lat[2], 1) ||
		len(offers) != 1 || offers[0] != at || sent[0] != t0.UnixNano() {
		t.Errorf("offers: %d, latencies %v, offers %v", tr.offeredCount(), lat, offers)
	}
}

func TestLatencyFigures(t *testing.T) {
	// 100 orders placed a second apart, each offered i ms after; the
	// last two never.
	const s = int64(time.Second)
	lat, sent := make([]float64, 100), make([]int64, 100)
	var offers []int64
	for i := range lat {
		sent[i] = int64(i) * s
		if i >= 98 {
			lat[i] = math.Inf(1)
			continue
		}
		lat[i] = float64(i)
		offers = append(offers, sent[i]+int64(i)*int64(time.Millisecond))
	}
	p50, p99, maxMs := latencyStats(slices.Clone(lat))
	if p50 != 49 || p99 != -1 || maxMs != 97 {
		t.Errorf("p50 %v, p99 %v, max %v; want 49, -1 (never offered), 97", p50, p99, maxMs)
	}
	if n := countOver(lat, 90); n != 9 {
		t.Errorf("%d latencies over 90 ms, want 7 and the 2 never offered", n)
	}
	p50, p99, _ = latencyStats(slices.Clone(lat[:97]))
	if p50 != 48 || p99 != 96 {
		t.Errorf("p50 %v, p99 %v of 97 offered; want 48, 96", p50, p99)
	}
	if n := mostWithin(offers, 60*s); n != 60 {
		t.Errorf("most offers within 60 s: %d, want 60", n)
	}
	if n := mostWithin(nil, 60*s); n != 0 {
		t.Errorf("most offers within 60 s of none: %d", n)
	}
	rec := make([]float64, len(lat))
	for i := range rec {
		rec[i] = float64(i % 10)
	}
	ws := windows(lat, rec, sent, offers)
	if len(ws) != 10 {
		t.Fatalf("%d windows, want 10", len(ws))
	}
	if w := ws[0]; w.Placed != 10 || w.Offered != 10 || w.P99Ms != 9 || w.InWindow != 10 || w.PerS != 1 || w.RecordedP50Ms != 4 || w.RecordedP99Ms != 9 {
		t.Errorf("first window %+v", w)
	}
	if w := ws[9]; w.FromSec != 90 || w.Placed != 10 || w.Offered != 8 || w.P99Ms != -1 || w.MaxMs != 97 {
		t.Errorf("last window %+v", w)
	}
}

func TestRate(t *testing.T) {
	t0 := time.Now()
	at := func(s float64, n int64) sample {
		return sample{at: t0.Add(time.Duration(s * float64(time.Second))), serveStats: serveStats{Locations: &kafka.ConsumerStats{Handled: n}}}
	}
	count := func(s sample) int64 { return s.Locations.Handled }
	// Idle, then 1000 a second for 3 s, then idle again.
	ss := []sample{at(0, 0), at(1, 0), at(2, 1000), at(3, 2000), at(4, 3000), at(5, 3000), at(6, 3000)}
	if got := rate(ss, count); got != 1000 {
		t.Errorf("rate %v, want 1000", got)
	}
	if got := rate(ss[:2], count); got != 0 {
		t.Errorf("rate of no growth %v, want 0", got)
	}
}

func TestOrders(t *testing.T) {
	os := drawOrders(1, 20, 500, "abcd").all()
	again := drawOrders(1, 20, 500, "abcd").all()
	if len(os) != 500 || !slices.EqualFunc(os, again, func(a, b orders.Order) bool { return orders.SameContent(a, b) }) {
		t.Fatal("drawOrders is not repeatable")
	}
	stores := map[string]bool{}
	for i, o := range os {
		if i, ok := orderSeq("abcd", o.PlatformOrderID); !ok || os[i].PlatformOrderID != o.PlatformOrderID {
			t.Fatalf("order %d: key %q", i, o.PlatformOrderID)
		}
		o.PlacedAt, o.ReadyAt = time.Now(), time.Now()
		b, err := kafka.EncodeOrderPlaced(o, kafka.ContentTypeProtobuf)
		if err != nil {
			t.Fatal(err)
		}
		// What the intake will read back: a valid order in the area.
		if _, err := kafka.DecodeOrderPlaced(b, kafka.ContentTypeProtobuf); err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		stores[o.StoreID] = true
	}
	if len(stores) < 10 {
		t.Errorf("orders go to %d stores of 20", len(stores))
	}
	if _, ok := orderSeq("abcd", "abce-0000001"); ok {
		t.Error("another run's key was taken")
	}
}

func TestWithSearchPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:p@127.0.0.1:15432/db?sslmode=disable", "postgres://u:p@127.0.0.1:15432/db?search_path=s1&sslmode=disable"},
		{"postgresql://u@h/db", "postgresql://u@h/db?search_path=s1"},
		{"host=h dbname=db", "host=h dbname=db search_path=s1"},
	} {
		got, err := withSearchPath(tc.in, "s1")
		if err != nil || got != tc.want {
			t.Errorf("withSearchPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Brokers: []string{"127.0.0.1:9092"}, PGURL: "postgres://x@h/db",
		Serve: func(context.Context, []string, *slog.Logger) error { return nil }}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"no brokers", func(c *Config) { c.Brokers = nil }, false},
		{"no database", func(c *Config) { c.PGURL = "" }, false},
		{"no service", func(c *Config) { c.Serve = nil }, false},
		{"negative orders", func(c *Config) { c.Orders = -1 }, false},
		{"too many riders", func(c *Config) { c.Riders = maxRiders + 1 }, false},
		{"negative rate", func(c *Config) { c.Rate = -5 }, false},
		{"no pings", func(c *Config) { c.Pings = -1 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate: %v", err)
			}
			if err == nil && (c.Orders != DefaultOrders || c.Drain != DefaultDrain || c.Batch != DefaultBatch) {
				t.Errorf("defaults not filled: %+v", c)
			}
		})
	}
	c := ok
	c.Rate, c.Orders = 1000, 10
	if err := c.Validate(); err != nil || c.Batch != 20 || c.Pings != 10*DefaultPingsPerOrder {
		t.Errorf("with a rate: batch %d, pings %d, %v", c.Batch, c.Pings, err)
	}
}

// TestOrdersWithinReach: every order drawn is one its store delivers to, as
// the intake checks it; near the edge of the city a draw used to fall back
// to anywhere in it, and the order was dead-lettered and counted lost.
func TestOrdersWithinReach(t *testing.T) {
	area := geo.Zhengzhou()
	for _, seed := range []int64{1, 2, 3} {
		ss := festival.Stores(seed, festival.DefaultStores)
		reach := dispatch.NewReach(area, geo.DefaultRoadModel(), ss)
		byID := map[string]orders.Store{}
		for _, s := range ss {
			byID[s.ID] = s
		}
		for i, o := range drawOrders(seed, festival.DefaultStores, 100_000, "abcd").all() {
			if err := reach.Check(byID[o.StoreID], o); err != nil {
				t.Fatalf("seed %d, order %d: %v (%.0f m from its store)", seed, i, err, geo.DistanceM(byID[o.StoreID].Point, o.Dropoff))
			}
		}
	}
}
