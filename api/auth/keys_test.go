package auth

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"zhengxiang/orders"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingStore counts the Gets that reach the store and fails them while fail is set.
type countingStore struct {
	Store
	mu   sync.Mutex
	gets int
	fail error
}

func (s *countingStore) Get(ctx context.Context, id string) (StoredKey, error) {
	s.mu.Lock()
	s.gets++
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		return StoredKey{}, fail
	}
	return s.Store.Get(ctx, id)
}

func (s *countingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

// MustPut makes a key for p and puts it in s.
func MustPut(tb testing.TB, s Store, p Principal) (string, StoredKey) {
	tb.Helper()
	key, sk := MustKey(tb, p)
	if err := s.Put(context.Background(), sk); err != nil {
		tb.Fatalf("Put: %v", err)
	}
	return key, sk
}

// MustKeys returns the authenticator of s on clock.
func MustKeys(tb testing.TB, s Store, clock *fakeClock) *Keys {
	tb.Helper()
	k, err := NewKeys(s, KeysConfig{CacheTTL: 30 * time.Second, Now: clock.Now})
	if err != nil {
		tb.Fatalf("NewKeys: %v", err)
	}
	return k
}

func TestKeysAuthenticate(t *testing.T) {
	ctx := t.Context()
	store := NewMemoryStore()
	p := Principal{Role: RoleMerchant, Stores: []string{"s1", "s2"}, Name: "till"}
	key, sk := MustPut(t, store, p)
	revokedKey, revoked := MustPut(t, store, Principal{Role: RoleRider, Rider: "r1"})
	if err := store.Revoke(ctx, revoked.KeyID); err != nil {
		t.Fatal(err)
	}
	otherKey, _ := MustKey(t, p) // never stored
	keys := MustKeys(t, store, newFakeClock())

	want := p
	want.KeyID = sk.KeyID
	for _, bearer := range []string{key, "Bearer " + key, "bearer  " + key + " "} {
		got, err := keys.Authenticate(ctx, bearer)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Authenticate(%q) = %+v, %v; want %+v", bearer, got, err, want)
		}
	}
	got, _ := keys.Authenticate(ctx, key)
	got.Stores[0] = "changed"
	if again, _ := keys.Authenticate(ctx, key); again.Stores[0] != "s1" {
		t.Error("a caller's change to the principal reached the cache")
	}

	wrongSecret := key[:20] + otherKey[20:]
	tamperedID := otherKey[:3] + sk.KeyID + otherKey[19:] // the stored id with another key's secret
	swappedID := key[:3] + otherKey[3:19] + key[19:]      // another id with the stored key's secret
	lastChanged := key[:len(key)-1] + "A"                 // still well-formed: 'A' and 'Q' leave the unused bits 0
	if lastChanged == key {
		lastChanged = key[:len(key)-1] + "Q"
	}
	for _, tc := range []struct{ name, bearer string }{
		{"none", ""},
		{"the scheme alone", "Bearer "},
		{"malformed", "zx_nothing"},
		{"unknown", otherKey},
		{"wrong secret", wrongSecret},
		{"tampered id", tamperedID},
		{"id of another key", swappedID},
		{"last character changed", lastChanged},
		{"revoked", revokedKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := keys.Authenticate(ctx, tc.bearer)
			if err != ErrUnauthenticated || err.Error() != "invalid API key" || !reflect.DeepEqual(p, Principal{}) {
				t.Errorf("Authenticate = %+v, %v; want ErrUnauthenticated itself", p, err)
			}
		})
	}
}

func TestKeysCacheExpiry(t *testing.T) {
	ctx := t.Context()
	store := &countingStore{Store: NewMemoryStore()}
	key, sk := MustPut(t, store, Principal{Role: RolePlatform, Platform: "meituan"})
	clock := newFakeClock()
	keys := MustKeys(t, store, clock)

	for range 10 {
		if _, err := keys.Authenticate(ctx, key); err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
	}
	if n := store.count(); n != 1 {
		t.Errorf("%d reads of the store for 10 requests within the TTL, want 1", n)
	}
	if err := store.Revoke(ctx, sk.KeyID); err != nil {
		t.Fatal(err)
	}
	clock.Add(29 * time.Second)
	if _, err := keys.Authenticate(ctx, key); err != nil {
		t.Errorf("within the TTL of the cached record, a revoked key: %v, want still accepted", err)
	}
	clock.Add(time.Second)
	if _, err := keys.Authenticate(ctx, key); err != ErrUnauthenticated {
		t.Errorf("once the TTL has passed, a revoked key: %v, want ErrUnauthenticated", err)
	}
	if n := store.count(); n != 2 {
		t.Errorf("%d reads of the store, want 2", n)
	}
}

func TestKeysStoreUnavailable(t *testing.T) {
	ctx := t.Context()
	store := &countingStore{Store: NewMemoryStore()}
	key, _ := MustPut(t, store, Principal{Role: RoleBureau})
	clock := newFakeClock()
	keys := MustKeys(t, store, clock)
	if _, err := keys.Authenticate(ctx, key); err != nil {
		t.Fatal(err)
	}

	store.mu.Lock()
	store.fail = orders.Unavailable("the database is unreachable")
	store.mu.Unlock()
	if _, err := keys.Authenticate(ctx, key); err != nil {
		t.Errorf("a cached key while the store is down: %v, want accepted", err)
	}
	clock.Add(time.Minute)
	_, err := keys.Authenticate(ctx, key)
	if !orders.IsKind(err, orders.KindUnavailable) || errors.Is(err, ErrUnauthenticated) {
		t.Errorf("an expired record while the store is down: %v, want unavailable", err)
	}
	other, _ := MustKey(t, Principal{Role: RoleBureau})
	if _, err := keys.Authenticate(ctx, other); !orders.IsKind(err, orders.KindUnavailable) {
		t.Errorf("an unknown key while the store is down: %v, want unavailable", err)
	}
	if _, err := keys.Authenticate(ctx, "zx_malformed"); err != ErrUnauthenticated {
		t.Errorf("a malformed key while the store is down: %v, want ErrUnauthenticated (no store read)", err)
	}
}

func TestKeysRateLimit(t *testing.T) {
	store := NewMemoryStore()
	key, sk := MustKey(t, Principal{Role: RoleBureau})
	sk.RatePerSecond, sk.Burst = 2, 3
	if err := store.Put(t.Context(), sk); err != nil {
		t.Fatal(err)
	}
	keys := MustKeys(t, store, newFakeClock())
	if r, b := keys.RateLimit(sk.KeyID); r != 0 || b != 0 {
		t.Errorf("RateLimit before the key was seen: %v, %d; want zeros", r, b)
	}
	if _, err := keys.Authenticate(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if r, b := keys.RateLimit(sk.KeyID); r != 2 || b != 3 {
		t.Errorf("RateLimit: %v, %d; want 2, 3", r, b)
	}
}

func TestKeysConfigValidate(t *testing.T) {
	if _, err := NewKeys(NewMemoryStore(), KeysConfig{CacheTTL: -time.Second}); !orders.IsKind(err, orders.KindInvalid) {
		t.Errorf("a negative TTL: %v, want invalid", err)
	}
}
