package auth

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"zhengxiang/orders"
)

// The rate limit of a key that has none of its own.
const (
	DefaultRatePerSecond = 50
	DefaultBurst         = 100
)

// DefaultIdleAfter is how long a key's limiter is kept after its last request.
const DefaultIdleAfter = 10 * time.Minute

// LimiterConfig configures a Limiter. The zero value is the default.
type LimiterConfig struct {
	// RatePerSecond and Burst are the limit of a key without one of its own (0:
	// DefaultRatePerSecond, DefaultBurst).
	RatePerSecond float64
	Burst         int
	// PerKey returns a key's own limit, zeros for the default; nil: every key has the default.
	// It is called on every Allow and should not block: Keys.RateLimit is one.
	PerKey func(keyID string) (perSecond float64, burst int)
	// IdleAfter is how long after its last request a key's limiter may be dropped, once its
	// bucket is full again (0: DefaultIdleAfter).
	IdleAfter time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Validate checks the config.
func (c LimiterConfig) Validate() error {
	if c.RatePerSecond < 0 || math.IsNaN(c.RatePerSecond) || math.IsInf(c.RatePerSecond, 0) {
		return orders.Invalid("limiter.rate_per_s", "%v is not a rate", c.RatePerSecond)
	}
	if c.Burst < 0 {
		return orders.Invalid("limiter.burst", "%d is negative", c.Burst)
	}
	if c.IdleAfter < 0 {
		return orders.Invalid("limiter.idle_after", "%v is negative", c.IdleAfter)
	}
	return nil
}

// Limiter holds each API key to its rate: a token bucket per key id, filled at the key's rate up
// to its burst. A key's bucket is dropped once the key has been idle for IdleAfter and the
// bucket is full (dropping it then changes nothing), so that memory follows the keys in use. It
// is safe for concurrent use.
type Limiter struct {
	rate      rate.Limit
	burst     int
	perKey    func(string) (float64, int)
	idleAfter time.Duration
	now       func() time.Time

	mu        sync.Mutex
	keys      map[string]*keyLimiter
	lastSweep time.Time
}

type keyLimiter struct {
	lim  *rate.Limiter
	last time.Time // of the last request
}

// NewLimiter returns a Limiter with no keys yet.
func NewLimiter(cfg LimiterConfig) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new limiter: %w", err)
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = DefaultRatePerSecond
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.IdleAfter == 0 {
		cfg.IdleAfter = DefaultIdleAfter
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{rate: rate.Limit(cfg.RatePerSecond), burst: cfg.Burst, perKey: cfg.PerKey,
		idleAfter: cfg.IdleAfter, now: cfg.Now, keys: make(map[string]*keyLimiter)}, nil
}

// Allow takes one request of the key with the id from its bucket. When the bucket is empty it
// takes nothing and returns false with the time until the request would be allowed, for a
// Retry-After header.
func (l *Limiter) Allow(keyID string) (ok bool, retryAfter time.Duration) {
	now := l.now()
	r, b := l.limit(keyID)
	l.mu.Lock()
	l.sweep(now)
	k := l.keys[keyID]
	if k == nil {
		k = &keyLimiter{lim: rate.NewLimiter(r, b)}
		l.keys[keyID] = k
	}
	k.last = now
	l.mu.Unlock()

	if k.lim.Limit() != r {
		k.lim.SetLimitAt(now, r)
	}
	if k.lim.Burst() != b {
		k.lim.SetBurstAt(now, b)
	}
	res := k.lim.ReserveN(now, 1)
	if !res.OK() { // cannot happen with a burst of at least 1
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Len returns how many keys have a bucket.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// limit returns the key's rate and burst.
func (l *Limiter) limit(keyID string) (rate.Limit, int) {
	r, b := l.rate, l.burst
	if l.perKey != nil {
		kr, kb := l.perKey(keyID)
		if kr > 0 && !math.IsInf(kr, 0) {
			r = rate.Limit(kr)
		}
		if kb > 0 {
			b = kb
		}
	}
	return r, b
}

// sweep drops, at most once per IdleAfter, the buckets of the keys idle for IdleAfter that are
// full again. l.mu is held.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.idleAfter {
		return
	}
	l.lastSweep = now
	for id, k := range l.keys {
		if now.Sub(k.last) >= l.idleAfter && k.lim.TokensAt(now) >= float64(k.lim.Burst()) {
			delete(l.keys, id)
		}
	}
}
