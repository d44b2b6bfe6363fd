package auth

import (
	"fmt"
	"testing"
	"time"

	"zhengxiang/orders"
)

// MustLimiter returns a limiter of cfg on clock.
func MustLimiter(tb testing.TB, cfg LimiterConfig, clock *fakeClock) *Limiter {
	tb.Helper()
	cfg.Now = clock.Now
	l, err := NewLimiter(cfg)
	if err != nil {
		tb.Fatalf("NewLimiter: %v", err)
	}
	return l
}

func TestLimiterBurstThenRefused(t *testing.T) {
	clock := newFakeClock()
	l := MustLimiter(t, LimiterConfig{RatePerSecond: 10, Burst: 5}, clock)
	for i := range 5 {
		if ok, d := l.Allow("a"); !ok || d != 0 {
			t.Fatalf("request %d of the burst: %v, %v; want allowed", i+1, ok, d)
		}
	}
	ok, d := l.Allow("a")
	if ok || d <= 0 || d > 100*time.Millisecond {
		t.Fatalf("past the burst: %v, retry after %v; want refused, after 100ms at most", ok, d)
	}
	// A refusal takes no token: the request retried after d goes through.
	for range 3 {
		if ok, d2 := l.Allow("a"); ok || d2 != d {
			t.Fatalf("refused again: %v, %v; want refused after the same %v", ok, d2, d)
		}
	}
	clock.Add(d)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("after the retry-after: refused")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("one token came back and two requests went through")
	}

	// Another key has a bucket of its own.
	for i := range 5 {
		if ok, _ := l.Allow("b"); !ok {
			t.Fatalf("request %d of key b, while a is limited: refused", i+1)
		}
	}
}

func TestLimiterDefaults(t *testing.T) {
	l := MustLimiter(t, LimiterConfig{}, newFakeClock())
	n := 0
	for ok := true; ok; n++ {
		ok, _ = l.Allow("a")
	}
	if n-1 != DefaultBurst {
		t.Errorf("%d requests at once went through, want the default burst %d", n-1, DefaultBurst)
	}
	if _, d := l.Allow("a"); d != time.Second/DefaultRatePerSecond {
		t.Errorf("retry after %v, want one token's time at %d/s", d, DefaultRatePerSecond)
	}
}

func TestLimiterPerKey(t *testing.T) {
	clock := newFakeClock()
	limits := map[string][2]float64{"slow": {1, 2}}
	l := MustLimiter(t, LimiterConfig{RatePerSecond: 100, Burst: 10, PerKey: func(id string) (float64, int) {
		return limits[id][0], int(limits[id][1])
	}}, clock)
	count := func(id string) int {
		n := 0
		for {
			if ok, _ := l.Allow(id); !ok {
				return n
			}
			n++
		}
	}
	if n := count("slow"); n != 2 {
		t.Errorf("key with a burst of its own of 2: %d at once", n)
	}
	if _, d := l.Allow("slow"); d != time.Second {
		t.Errorf("key with a rate of its own of 1/s: retry after %v, want 1s", d)
	}
	if n := count("default"); n != 10 {
		t.Errorf("key with the default burst of 10: %d at once", n)
	}
	// A key's limit changed in the store reaches its bucket, which keeps its tokens and fills
	// up to the new burst.
	limits["default"] = [2]float64{100, 20}
	l.Allow("default")
	clock.Add(time.Second)
	if n := count("default"); n != 20 {
		t.Errorf("after the key's burst became 20: %d at once", n)
	}
}

func TestLimiterEvictsIdleKeys(t *testing.T) {
	clock := newFakeClock()
	l := MustLimiter(t, LimiterConfig{RatePerSecond: 1, Burst: 100, IdleAfter: time.Minute}, clock)
	for i := range 1000 {
		l.Allow(fmt.Sprint("k", i))
	}
	for range 100 {
		l.Allow("busy")
	}
	if n := l.Len(); n != 1001 {
		t.Fatalf("%d buckets, want 1001", n)
	}
	clock.Add(time.Minute)
	l.Allow("new")
	if n := l.Len(); n != 2 {
		t.Fatalf("a minute later, %d buckets; want the busy key's, not yet full again, and the new one", n)
	}
	n := 0
	for ok := true; ok; n++ {
		ok, _ = l.Allow("busy")
	}
	if n-1 != 60 {
		t.Errorf("the busy key a minute after its burst: %d requests at once, want the 60 of its own bucket", n-1)
	}
	clock.Add(2 * time.Minute) // full again after 100 s at 1/s, and idle for over a minute
	l.Allow("new")
	if n := l.Len(); n != 1 {
		t.Errorf("once the busy key's bucket is full and idle: %d buckets, want 1", n)
	}
}

func TestLimiterConfigValidate(t *testing.T) {
	for _, cfg := range []LimiterConfig{{RatePerSecond: -1}, {Burst: -1}, {IdleAfter: -time.Second}} {
		if _, err := NewLimiter(cfg); !orders.IsKind(err, orders.KindInvalid) {
			t.Errorf("NewLimiter(%+v): %v, want invalid", cfg, err)
		}
	}
}
