package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"zhengxiang/orders"
)

// FileStore is a Store in a JSON file, for a deployment without PostgreSQL: the keys outlive the
// process that made them. Every call reads the file; every change rewrites it whole, atomically
// (a temporary file renamed over it) and readable by its owner only (0600, in a directory made
// 0700). Calls within one process are serialised; two processes changing the file at the same
// moment may lose one change, so make keys one at a time.
type FileStore struct {
	path string
	mu   sync.Mutex
}

// NewFileStore returns the store kept in the file at path, which need not exist yet.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Path returns the file's path.
func (s *FileStore) Path() string { return s.path }

// keyFile is the file's form.
type keyFile struct {
	Keys []fileKey `json:"keys"`
}

type fileKey struct {
	KeyID         string    `json:"key_id"`
	Hash          []byte    `json:"hash"` // base64
	Role          Role      `json:"role"`
	Platform      string    `json:"platform,omitempty"`
	Stores        []string  `json:"stores,omitempty"`
	Rider         string    `json:"rider,omitempty"`
	Name          string    `json:"name,omitempty"`
	RatePerSecond float64   `json:"rate_per_s,omitempty"`
	Burst         int       `json:"burst,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	RevokedAt     time.Time `json:"revoked_at,omitzero"`
}

// Put adds k.
func (s *FileStore) Put(_ context.Context, k StoredKey) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("put API key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ks, err := s.load()
	if err != nil {
		return fmt.Errorf("put API key: %w", err)
	}
	for _, o := range ks {
		if o.KeyID == k.KeyID {
			return orders.Conflict("put API key: key %s exists", k.KeyID)
		}
	}
	if err := s.save(append(ks, normal(k))); err != nil {
		return fmt.Errorf("put API key %s: %w", k.KeyID, err)
	}
	return nil
}

// Get returns the key with the id.
func (s *FileStore) Get(_ context.Context, id string) (StoredKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks, err := s.load()
	if err != nil {
		return StoredKey{}, fmt.Errorf("get API key %s: %w", id, err)
	}
	for _, k := range ks {
		if k.KeyID == id {
			return k, nil
		}
	}
	return StoredKey{}, orders.NotFound("API key", id)
}

// List returns every key, oldest first.
func (s *FileStore) List(_ context.Context) ([]StoredKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks, err := s.load()
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	sortKeys(ks)
	return ks, nil
}

// Revoke marks the key with the id revoked now.
func (s *FileStore) Revoke(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks, err := s.load()
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, err)
	}
	for i, k := range ks {
		if k.KeyID != id {
			continue
		}
		if k.Revoked() {
			return nil
		}
		ks[i].RevokedAt = time.Now().Truncate(time.Microsecond)
		if err := s.save(ks); err != nil {
			return fmt.Errorf("revoke API key %s: %w", id, err)
		}
		return nil
	}
	return orders.NotFound("API key", id)
}

// load reads the file; a file that does not exist holds no keys. A file that cannot be read is
// orders.KindUnavailable; one that does not parse is a fault of whoever wrote it (no kind).
func (s *FileStore) load() ([]StoredKey, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &orders.Error{Kind: orders.KindUnavailable, Msg: "read key file", Err: err}
	}
	var f keyFile
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		return nil, fmt.Errorf("key file %s: %w", s.path, err)
	}
	ks := make([]StoredKey, len(f.Keys))
	for i, k := range f.Keys {
		ks[i] = normal(StoredKey{
			KeyID: k.KeyID, Hash: k.Hash,
			Principal:     Principal{Role: k.Role, Platform: k.Platform, Stores: k.Stores, Rider: k.Rider, Name: k.Name},
			RatePerSecond: k.RatePerSecond, Burst: k.Burst, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt,
		})
	}
	return ks, nil
}

// save writes ks to a temporary file beside the file, flushes it to disk and renames it over
// the file, so that a reader sees the old keys or the new, never a part.
func (s *FileStore) save(ks []StoredKey) error {
	f := keyFile{Keys: make([]fileKey, len(ks))}
	for i, k := range ks {
		p := k.Principal
		f.Keys[i] = fileKey{KeyID: k.KeyID, Hash: k.Hash, Role: p.Role, Platform: p.Platform, Stores: p.Stores,
			Rider: p.Rider, Name: p.Name, RatePerSecond: k.RatePerSecond, Burst: k.Burst,
			CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return &orders.Error{Kind: orders.KindUnavailable, Msg: "write key file", Err: err}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".*") // created 0600
	if err != nil {
		return &orders.Error{Kind: orders.KindUnavailable, Msg: "write key file", Err: err}
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		return &orders.Error{Kind: orders.KindUnavailable, Msg: "write key file", Err: err}
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable; best effort
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
