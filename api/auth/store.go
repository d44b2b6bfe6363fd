package auth

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"zhengxiang/orders"
)

// Store keeps the API keys: their ids and hashes, never the keys themselves.
//
// Put refuses an invalid StoredKey (orders.KindInvalid) and an id it already holds
// (orders.KindConflict). Get and Revoke of an id it does not hold are orders.KindNotFound.
// Revoke stamps the key with the time of revocation; revoking a revoked key keeps the first
// time. List returns every key, revoked ones too, oldest first. A store that cannot answer
// returns orders.KindUnavailable. The StoredKey returned has its Principal.KeyID set and nil
// Stores when there are none.
type Store interface {
	Put(ctx context.Context, k StoredKey) error
	Get(ctx context.Context, id string) (StoredKey, error)
	List(ctx context.Context) ([]StoredKey, error)
	Revoke(ctx context.Context, id string) error
}

var (
	_ Store = (*MemoryStore)(nil)
	_ Store = (*FileStore)(nil)
	_ Store = (*PostgresStore)(nil)
)

// MemoryStore is a Store in the process's memory, for tests and the embedded default.
type MemoryStore struct {
	mu   sync.Mutex
	keys map[string]StoredKey
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{keys: make(map[string]StoredKey)} }

// Put adds k.
func (s *MemoryStore) Put(_ context.Context, k StoredKey) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("put API key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[k.KeyID]; ok {
		return orders.Conflict("put API key: key %s exists", k.KeyID)
	}
	s.keys[k.KeyID] = normal(k)
	return nil
}

// Get returns the key with the id.
func (s *MemoryStore) Get(_ context.Context, id string) (StoredKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok {
		return StoredKey{}, orders.NotFound("API key", id)
	}
	return normal(k), nil
}

// List returns every key, oldest first.
func (s *MemoryStore) List(_ context.Context) ([]StoredKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := make([]StoredKey, 0, len(s.keys))
	for _, k := range s.keys {
		ks = append(ks, normal(k))
	}
	sortKeys(ks)
	return ks, nil
}

// Revoke marks the key with the id revoked now.
func (s *MemoryStore) Revoke(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok {
		return orders.NotFound("API key", id)
	}
	if !k.Revoked() {
		k.RevokedAt = time.Now().Truncate(time.Microsecond)
		s.keys[id] = k
	}
	return nil
}

// normal returns a copy of k that shares no slice with it, in the form every Store returns:
// Principal.KeyID set, nil Stores when there are none.
func normal(k StoredKey) StoredKey {
	k.Hash = slices.Clone(k.Hash)
	k.Principal.KeyID = k.KeyID
	if len(k.Principal.Stores) == 0 {
		k.Principal.Stores = nil
	} else {
		k.Principal.Stores = slices.Clone(k.Principal.Stores)
	}
	return k
}

// sortKeys puts ks oldest first, then by id.
func sortKeys(ks []StoredKey) {
	slices.SortFunc(ks, func(a, b StoredKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.KeyID, b.KeyID))
	})
}
