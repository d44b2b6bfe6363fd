package auth

import (
	"crypto/sha256"
	"regexp"
	"strings"
	"testing"

	"zhengxiang/orders"
)

var keyForm = regexp.MustCompile(`^zx_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$`)

// MustKey makes a key for p; the test fails on an error.
func MustKey(tb testing.TB, p Principal) (string, StoredKey) {
	tb.Helper()
	key, sk, err := NewKey(p)
	if err != nil {
		tb.Fatalf("NewKey(%+v): %v", p, err)
	}
	return key, sk
}

func TestNewKey(t *testing.T) {
	p := Principal{Role: RoleMerchant, Stores: []string{"s1"}, Name: "till"}
	key, sk := MustKey(t, p)
	if !keyForm.MatchString(key) {
		t.Fatalf("key %q is not of the form zx_<16 hex>_<43 base64url>", key)
	}
	id, err := ParseKey(key)
	if err != nil || id != sk.KeyID || sk.Principal.KeyID != id || key[3:19] != id {
		t.Fatalf("ParseKey: %q, %v; stored id %q, principal's %q", id, err, sk.KeyID, sk.Principal.KeyID)
	}
	if h := sha256.Sum256([]byte(key)); string(h[:]) != string(sk.Hash) {
		t.Error("the stored hash is not the SHA-256 of the key")
	}
	if strings.Contains(string(sk.Hash), key[20:]) || sk.CreatedAt.IsZero() {
		t.Errorf("stored key: %+v", sk)
	}
	if err := sk.Validate(); err != nil {
		t.Errorf("the stored key does not validate: %v", err)
	}
	if !verify(key, sk.Hash) {
		t.Error("the key does not verify against its hash")
	}
	key2, sk2 := MustKey(t, p)
	if key2 == key || sk2.KeyID == sk.KeyID {
		t.Error("two keys alike")
	}
	if verify(key2, sk.Hash) {
		t.Error("another key verifies against the hash")
	}
	if _, _, err := NewKey(Principal{Role: RoleMerchant}); !orders.IsKind(err, orders.KindInvalid) {
		t.Errorf("NewKey of a merchant without stores: %v, want invalid", err)
	}
}

func TestParseKey(t *testing.T) {
	key, sk := MustKey(t, Principal{Role: RoleBureau})
	secret := key[20:]
	for _, tc := range []struct{ name, key string }{
		{"empty", ""},
		{"the id alone", sk.KeyID},
		{"no prefix", "xx_" + key[3:]},
		{"upper-case id", "zx_" + strings.ToUpper(sk.KeyID) + "_" + secret},
		{"id not hex", "zx_" + "g" + sk.KeyID[1:] + "_" + secret},
		{"no separator", "zx_" + sk.KeyID + "-" + secret},
		{"short secret", key[:len(key)-1]},
		{"long secret", key + "A"},
		{"secret not base64url", key[:len(key)-1] + "+"},
		{"padded secret", key[:len(key)-1] + "="},
		{"with the scheme", "Bearer " + key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := ParseKey(tc.key)
			if !orders.IsKind(err, orders.KindInvalid) {
				t.Fatalf("ParseKey(%q) = %q, %v; want invalid", tc.key, id, err)
			}
			if len(secret) > 0 && strings.Contains(err.Error(), secret[:10]) {
				t.Errorf("the error repeats the secret: %v", err)
			}
		})
	}
}

func FuzzParseKey(f *testing.F) {
	key, _, _ := NewKey(Principal{Role: RoleBureau})
	for _, s := range []string{key, "", "zx_", "zx_0123456789abcdef_", key[:len(key)-1] + "=", "Bearer " + key} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseKey(s)
		if err != nil {
			if id != "" || !orders.IsKind(err, orders.KindInvalid) {
				t.Fatalf("ParseKey(%q) = %q, %v", s, id, err)
			}
			return
		}
		if !keyForm.MatchString(s) || s[3:19] != id {
			t.Fatalf("ParseKey(%q) accepted it as %q", s, id)
		}
	})
}
