package auth

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"zhengxiang/orders"
	"zhengxiang/orders/postgres/pgtest"
)

// TestStore runs the Store contract against every implementation: memory and file always,
// Postgres when ZX_PG_URL is set.
func TestStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) Store
	}{
		{"memory", func(*testing.T) Store { return NewMemoryStore() }},
		{"file", func(t *testing.T) Store { return NewFileStore(filepath.Join(t.TempDir(), "zhengxiang", "keys.json")) }},
		{"postgres", func(t *testing.T) Store { return NewPostgresStore(pgtest.DB(t).Pool()) }},
	} {
		t.Run(tc.name, func(t *testing.T) { testStore(t, tc.open(t)) })
	}
}

func testStore(t *testing.T, s Store) {
	ctx := t.Context()
	merchantKey, merchant := MustKey(t, Principal{Role: RoleMerchant, Stores: []string{"s2", "s1"}, Name: "till 2"})
	merchant.RatePerSecond, merchant.Burst = 2.5, 7
	merchant.CreatedAt = merchant.CreatedAt.Add(-time.Hour)
	_, operator := MustKey(t, Principal{Role: RoleOperator})
	_, platform := MustKey(t, Principal{Role: RolePlatform, Platform: "meituan", Name: "intake"})
	platform.CreatedAt = platform.CreatedAt.Add(time.Hour)
	for _, k := range []StoredKey{platform, merchant, operator} {
		if err := s.Put(ctx, k); err != nil {
			t.Fatalf("Put %+v: %v", k, err)
		}
	}

	t.Run("get", func(t *testing.T) {
		for _, want := range []StoredKey{merchant, operator, platform} {
			got, err := s.Get(ctx, want.KeyID)
			if err != nil {
				t.Fatalf("Get %s: %v", want.KeyID, err)
			}
			assertKey(t, got, want)
		}
		if _, err := s.Get(ctx, "0123456789abcdef"); !orders.IsKind(err, orders.KindNotFound) {
			t.Errorf("Get of an unknown id: %v, want not found", err)
		}
	})

	t.Run("list", func(t *testing.T) {
		ks, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ks) != 3 {
			t.Fatalf("List: %d keys, want 3", len(ks))
		}
		for i, want := range []StoredKey{merchant, operator, platform} { // oldest first
			assertKey(t, ks[i], want)
		}
	})

	t.Run("put refuses", func(t *testing.T) {
		if err := s.Put(ctx, merchant); !orders.IsKind(err, orders.KindConflict) {
			t.Errorf("Put of a taken id: %v, want conflict", err)
		}
		_, ok := MustKey(t, Principal{Role: RoleBureau})
		for name, change := range map[string]func(*StoredKey){
			"a bad scope":          func(k *StoredKey) { k.Principal.Platform = "meituan" },
			"a bad role":           func(k *StoredKey) { k.Principal.Role = "admin" },
			"a short hash":         func(k *StoredKey) { k.Hash = k.Hash[:16] },
			"a bad id":             func(k *StoredKey) { k.KeyID, k.Principal.KeyID = "XYZ", "" },
			"another principal id": func(k *StoredKey) { k.Principal.KeyID = "0123456789abcdef" },
			"a negative rate":      func(k *StoredKey) { k.RatePerSecond = -1 },
			"a negative burst":     func(k *StoredKey) { k.Burst = -1 },
			"no creation time":     func(k *StoredKey) { k.CreatedAt = time.Time{} },
		} {
			k := ok
			k.Hash = append([]byte(nil), ok.Hash...)
			change(&k)
			if err := s.Put(ctx, k); !orders.IsKind(err, orders.KindInvalid) {
				t.Errorf("Put of a key with %s: %v, want invalid", name, err)
			}
		}
		if _, err := s.Get(ctx, ok.KeyID); !orders.IsKind(err, orders.KindNotFound) {
			t.Errorf("a refused key was kept: %v", err)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		if err := s.Revoke(ctx, operator.KeyID); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		got, err := s.Get(ctx, operator.KeyID)
		if err != nil || !got.Revoked() || time.Since(got.RevokedAt).Abs() > time.Minute {
			t.Fatalf("after Revoke: %+v, %v; want revoked now", got, err)
		}
		if err := s.Revoke(ctx, operator.KeyID); err != nil {
			t.Fatalf("Revoke again: %v", err)
		}
		if again, _ := s.Get(ctx, operator.KeyID); !again.RevokedAt.Equal(got.RevokedAt) {
			t.Errorf("revoking again moved the time from %v to %v", got.RevokedAt, again.RevokedAt)
		}
		if err := s.Revoke(ctx, "0123456789abcdef"); !orders.IsKind(err, orders.KindNotFound) {
			t.Errorf("Revoke of an unknown id: %v, want not found", err)
		}
		if m, _ := s.Get(ctx, merchant.KeyID); m.Revoked() {
			t.Error("Revoke of one key revoked another")
		}
		ks, _ := s.List(ctx)
		if len(ks) != 3 || !ks[1].Revoked() {
			t.Errorf("List after Revoke: %+v, want the revoked key still listed", ks)
		}
	})

	t.Run("authenticate", func(t *testing.T) {
		keys, err := NewKeys(s, KeysConfig{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := keys.Authenticate(ctx, merchantKey)
		if err != nil || p.KeyID != merchant.KeyID || !p.HasStore("s1") {
			t.Errorf("Authenticate: %+v, %v", p, err)
		}
	})
}

// assertKey compares two stored keys, their times by the instant.
func assertKey(tb testing.TB, got, want StoredKey) {
	tb.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.RevokedAt.Equal(want.RevokedAt) {
		tb.Errorf("key %s: created %v, revoked %v; want %v, %v", want.KeyID, got.CreatedAt, got.RevokedAt, want.CreatedAt, want.RevokedAt)
	}
	got.CreatedAt, got.RevokedAt, want.CreatedAt, want.RevokedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("key:\n got %+v\nwant %+v", got, want)
	}
}

func TestFileStoreFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cfg", "zhengxiang", "keys.json")
	s := NewFileStore(path)
	if ks, err := s.List(ctx); err != nil || len(ks) != 0 {
		t.Fatalf("List of a file not yet made: %v, %v", ks, err)
	}
	key, sk := MustPut(t, s, Principal{Role: RoleRider, Rider: "r7"})
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	if di, err := os.Stat(filepath.Dir(path)); err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("key file's folder: %v, %v; want mode 0700", di, err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), key[20:]) || strings.Contains(string(b), key) {
		t.Error("the key file holds the secret")
	}
	got, err := NewFileStore(path).Get(ctx, sk.KeyID) // as another process would
	if err != nil {
		t.Fatal(err)
	}
	assertKey(t, got, sk)
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("%d files beside the key file: a temporary file was left", len(ents)-1)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, sk.KeyID); err == nil || orders.IsKind(err, orders.KindNotFound) {
		t.Errorf("Get from a broken file: %v, want an error", err)
	}
}

func TestPostgresStoreUnavailable(t *testing.T) {
	db := pgtest.DB(t)
	s := NewPostgresStore(db.Pool())
	_, sk := MustKey(t, Principal{Role: RoleBureau})
	db.Close()
	if _, err := s.Get(t.Context(), sk.KeyID); !orders.IsKind(err, orders.KindUnavailable) {
		t.Errorf("Get on a closed pool: %v, want unavailable", err)
	}
	if err := s.Put(t.Context(), sk); !orders.IsKind(err, orders.KindUnavailable) {
		t.Errorf("Put on a closed pool: %v, want unavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewPostgresStore(pgtest.DB(t).Pool()).List(ctx); !strings.Contains(err.Error(), context.Canceled.Error()) {
		t.Errorf("List with a cancelled context: %v", err)
	}
}
