package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"zhengxiang/orders"
)

// An API key reads "zx_" + id + "_" + secret: the id is 8 random bytes in lower-case hex, the
// secret 32 random bytes in unpadded URL-safe base64 (which may itself hold '_' and '-'). The id
// names the key in the store, in logs and to revoke it; only the secret is confidential.
const (
	keyPrefix = "zx_"
	idLen     = 16 // hex of 8 bytes
	secretLen = 43 // unpadded base64 of 32 bytes
	keyLen    = len(keyPrefix) + idLen + 1 + secretLen
)

// StoredKey is what a Store keeps of a key: its id, the SHA-256 hash of the whole key, the
// principal it acts for, and when it was created and revoked (zero: not revoked). RatePerSecond
// and Burst are the key's own rate limit; zero means the server's default.
type StoredKey struct {
	KeyID         string
	Hash          []byte
	Principal     Principal
	RatePerSecond float64
	Burst         int
	CreatedAt     time.Time
	RevokedAt     time.Time
}

// Revoked reports whether the key has been revoked.
func (k StoredKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// Validate checks what a Store is given to keep: a well-formed id, a SHA-256 hash, a valid
// principal whose KeyID is empty or the key's, a rate limit that is not negative, and a
// creation time. The errors are orders.KindInvalid.
func (k StoredKey) Validate() error {
	if !validID(k.KeyID) {
		return orders.Invalid("key.id", "%q is not 16 lower-case hex digits", k.KeyID)
	}
	if len(k.Hash) != sha256.Size {
		return orders.Invalid("key.hash", "%d bytes, want a SHA-256 hash of %d", len(k.Hash), sha256.Size)
	}
	if k.Principal.KeyID != "" && k.Principal.KeyID != k.KeyID {
		return orders.Invalid("key.principal.key_id", "%q is not the key's id %q", k.Principal.KeyID, k.KeyID)
	}
	if err := k.Principal.Validate(); err != nil {
		return err
	}
	if k.RatePerSecond < 0 || math.IsNaN(k.RatePerSecond) || math.IsInf(k.RatePerSecond, 0) {
		return orders.Invalid("key.rate_per_s", "%v is not a rate (0: the server's default)", k.RatePerSecond)
	}
	if k.Burst < 0 {
		return orders.Invalid("key.burst", "%d is negative (0: the server's default)", k.Burst)
	}
	if k.CreatedAt.IsZero() {
		return orders.Invalid("key.created_at", "not set")
	}
	return nil
}

// NewKey makes a key for p and returns it with what a Store keeps of it: the id and hash, p
// with its KeyID set, and the creation time (to the microsecond, as Postgres keeps it). The key
// itself is returned only here; it cannot be recovered from the StoredKey. Set the StoredKey's
// rate limit before storing it to give the key a rate of its own.
func NewKey(p Principal) (key string, stored StoredKey, err error) {
	p.KeyID = ""
	if err := p.Validate(); err != nil {
		return "", StoredKey{}, err
	}
	var id [8]byte
	var secret [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", StoredKey{}, fmt.Errorf("new API key: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", StoredKey{}, fmt.Errorf("new API key: %w", err)
	}
	p.KeyID = hex.EncodeToString(id[:])
	key = keyPrefix + p.KeyID + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	h := sha256.Sum256([]byte(key))
	return key, StoredKey{KeyID: p.KeyID, Hash: h[:], Principal: p, CreatedAt: time.Now().Truncate(time.Microsecond)}, nil
}

// ParseKey checks the form of key and returns its id. A key of another form is
// orders.KindInvalid; the error never repeats the key.
func ParseKey(key string) (id string, err error) {
	if len(key) != keyLen {
		return "", orders.Invalid("api key", "%d characters, want %d", len(key), keyLen)
	}
	if key[:len(keyPrefix)] != keyPrefix {
		return "", orders.Invalid("api key", "does not start with %q", keyPrefix)
	}
	id = key[len(keyPrefix) : len(keyPrefix)+idLen]
	if !validID(id) {
		return "", orders.Invalid("api key", "the id is not 16 lower-case hex digits")
	}
	if key[len(keyPrefix)+idLen] != '_' {
		return "", orders.Invalid("api key", "no '_' after the id")
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(key[len(keyPrefix)+idLen+1:]); err != nil || len(b) != 32 {
		return "", orders.Invalid("api key", "the secret is not 32 bytes of URL-safe base64")
	}
	return id, nil
}

// verify reports, in time that does not depend on where they differ, whether key hashes to hash.
func verify(key string, hash []byte) bool {
	h := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(h[:], hash) == 1
}

// validID reports whether id has the form of a key id: 16 lower-case hex digits.
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := range len(id) {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
