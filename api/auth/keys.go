package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"zhengxiang/orders"
)

// DefaultCacheTTL is how long Keys trusts a key's record without reading the store again, and
// so how long a revocation may take to reach a running server.
const DefaultCacheTTL = 30 * time.Second

// KeysConfig configures Keys. The zero value is the default.
type KeysConfig struct {
	// CacheTTL is how long a key's record is kept after it was read (0: DefaultCacheTTL).
	CacheTTL time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Validate checks the config.
func (c KeysConfig) Validate() error {
	if c.CacheTTL < 0 {
		return orders.Invalid("keys.cache_ttl", "%v is negative", c.CacheTTL)
	}
	return nil
}

// Keys authenticates API keys against a Store. It keeps the records it read for CacheTTL, so
// that a request does not wait on the store: a revocation takes effect within CacheTTL. It is
// safe for concurrent use.
type Keys struct {
	store Store
	ttl   time.Duration
	now   func() time.Time

	mu        sync.Mutex
	cache     map[string]cachedKey // by key id
	lastSweep time.Time
}

type cachedKey struct {
	key     StoredKey
	expires time.Time
}

// NewKeys returns the authenticator of the keys in store.
func NewKeys(store Store, cfg KeysConfig) (*Keys, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new keys: %w", err)
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Keys{store: store, ttl: cfg.CacheTTL, now: cfg.Now, cache: make(map[string]cachedKey)}, nil
}

// Authenticate returns the principal of the API key bearer, given bare or as the value of an
// Authorization header ("Bearer zx_..."). A key that is missing, malformed, unknown, revoked or
// whose secret is wrong is ErrUnauthenticated itself. When the store cannot answer, the error is
// the store's, wrapped (orders.KindUnavailable when it is down).
func (k *Keys) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	key := bearerKey(bearer)
	id, err := ParseKey(key)
	if err != nil {
		return Principal{}, ErrUnauthenticated
	}
	sk, err := k.record(ctx, id)
	if err != nil {
		return Principal{}, err
	}
	if !verify(key, sk.Hash) || sk.Revoked() {
		return Principal{}, ErrUnauthenticated
	}
	p := sk.Principal
	p.Stores = slices.Clone(p.Stores)
	return p, nil
}

// RateLimit returns the rate limit of the key with the id, when Keys holds its record, and
// zeros (the server's default) otherwise. It reads no store: it is the PerKey of a Limiter that
// limits the keys Authenticate has just accepted.
func (k *Keys) RateLimit(keyID string) (perSecond float64, burst int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.cache[keyID]
	if !ok {
		return 0, 0
	}
	return c.key.RatePerSecond, c.key.Burst
}

// record returns the key's record, from the cache while it is fresh, else from the store. A key
// the store does not hold is ErrUnauthenticated.
func (k *Keys) record(ctx context.Context, id string) (StoredKey, error) {
	now := k.now()
	k.mu.Lock()
	c, ok := k.cache[id]
	k.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.key, nil
	}
	sk, err := k.store.Get(ctx, id)
	if orders.IsKind(err, orders.KindNotFound) {
		return StoredKey{}, ErrUnauthenticated
	}
	if err != nil {
		return StoredKey{}, fmt.Errorf("authenticate API key %s: %w", id, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.lastSweep) >= k.ttl {
		for id, c := range k.cache {
			if !now.Before(c.expires) {
				delete(k.cache, id)
			}
		}
		k.lastSweep = now
	}
	k.cache[id] = cachedKey{key: sk, expires: now.Add(k.ttl)}
	return sk, nil
}

// bearerKey returns the key of an Authorization header's value, or the value itself.
func bearerKey(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimSpace(s[7:])
	}
	return s
}
