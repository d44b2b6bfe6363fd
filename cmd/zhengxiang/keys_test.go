package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"zhengxiang/api/auth"
	"zhengxiang/orders"
)

// keysFileEnv points the default key file into a folder of the test's own
// and unsets ZX_PG_URL, and returns the file's path.
func keysFileEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv(EnvPGURL, "")
	return filepath.Join(dir, "zhengxiang", "keys.json")
}

// mustAuthenticate authenticates key against store.
func mustAuthenticate(t *testing.T, store auth.Store, key string) (auth.Principal, error) {
	t.Helper()
	keys, err := auth.NewKeys(store, auth.KeysConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return keys.Authenticate(context.Background(), key)
}

func TestKeysFile(t *testing.T) {
	path := keysFileEnv(t)
	_, out, errOut := MustRun(t, "keys", "create", "--role", "merchant", "--store", "S1", "--store", "S2", "--name", "till", "--rate", "5", "--burst", "9")
	key := strings.TrimSuffix(out, "\n")
	id, err := auth.ParseKey(key)
	if err != nil || strings.Contains(key, "\n") {
		t.Fatalf("stdout is not a key alone on a line: %q (%v)", out, err)
	}
	if !strings.Contains(errOut, "cannot be shown again") || !strings.Contains(errOut, id) || strings.Contains(errOut, key) {
		t.Errorf("stderr: %q; want the note that the key cannot be shown again, with its id but not the key", errOut)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v, %v; want mode 0600", path, fi, err)
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), key[len(key)-43:]) {
		t.Error("the key file holds the key's secret")
	}
	p, err := mustAuthenticate(t, auth.NewFileStore(path), key)
	if err != nil || p.Role != auth.RoleMerchant || !p.HasStore("S1") || !p.HasStore("S2") || p.Name != "till" {
		t.Fatalf("the created key authenticates as %+v, %v", p, err)
	}
	sk, _ := auth.NewFileStore(path).Get(context.Background(), id)
	if sk.RatePerSecond != 5 || sk.Burst != 9 {
		t.Errorf("rate %v burst %d, want 5 and 9", sk.RatePerSecond, sk.Burst)
	}

	_, out2, _ := MustRun(t, "keys", "create", "--role", "operator")
	id2, _ := auth.ParseKey(strings.TrimSpace(out2))

	_, list, _ := MustRun(t, "keys", "list")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("keys list: %d lines, want a header and 2 keys:\n%s", len(lines), list)
	}
	for _, want := range []string{id, "merchant", "stores=S1,S2", "till", "5/s burst 9"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("the merchant's line lacks %q: %s", want, lines[1])
		}
	}
	for _, want := range []string{id2, "operator", "every platform", "default"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("the operator's line lacks %q: %s", want, lines[2])
		}
	}
	if !strings.HasSuffix(lines[1], "-") || strings.Contains(list, key[len(key)-43:]) {
		t.Errorf("keys list shows a revocation or a secret:\n%s", list)
	}

	_, rev, _ := MustRun(t, "keys", "revoke", id)
	if !strings.Contains(rev, "revoked API key "+id) {
		t.Errorf("keys revoke: %q", rev)
	}
	if _, err := mustAuthenticate(t, auth.NewFileStore(path), key); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("a revoked key authenticates: %v", err)
	}
	_, list, _ = MustRun(t, "keys", "list", "--file", path)
	if l := strings.Split(list, "\n")[1]; strings.HasSuffix(l, "-") {
		t.Errorf("keys list after revoke shows no revocation: %s", l)
	}
	MustRun(t, "keys", "revoke", strings.TrimSpace(out2)) // the whole key names it too
	if _, err := mustAuthenticate(t, auth.NewFileStore(path), strings.TrimSpace(out2)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("a key revoked by the key: %v", err)
	}

	m, _, _ := newTestMain()
	if err := m.ParseFlags([]string{"keys", "revoke", "0123456789abcdef"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); !orders.IsKind(err, orders.KindNotFound) || IsUsage(err) {
		t.Errorf("keys revoke of an unknown id: %v, want not found", err)
	}
}

func TestKeysFileFlag(t *testing.T) {
	keysFileEnv(t)
	t.Setenv(EnvPGURL, "postgres://nowhere.invalid/zx") // --file wins over the environment
	path := filepath.Join(t.TempDir(), "k.json")
	_, out, _ := MustRun(t, "keys", "create", "--role", "bureau", "--file", path)
	if _, err := mustAuthenticate(t, auth.NewFileStore(path), strings.TrimSpace(out)); err != nil {
		t.Errorf("the key in --file: %v", err)
	}
}

func TestKeysUsage(t *testing.T) {
	keysFileEnv(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"keys"}, "keys create"},
		{"unknown subcommand", []string{"keys", "rotate"}, "keys create"},
		{"create without role", []string{"keys", "create"}, "--role"},
		{"create with an unknown role", []string{"keys", "create", "--role", "admin"}, "principal.role"},
		{"merchant without store", []string{"keys", "create", "--role", "merchant"}, "principal.stores"},
		{"platform without platform", []string{"keys", "create", "--role", "platform"}, "principal.platform"},
		{"rider with a store", []string{"keys", "create", "--role", "rider", "--rider", "r1", "--store", "s1"}, "principal.stores"},
		{"bureau with a platform", []string{"keys", "create", "--role", "bureau", "--platform", "p"}, "principal.platform"},
		{"negative rate", []string{"keys", "create", "--role", "bureau", "--rate", "-1"}, "--rate"},
		{"negative burst", []string{"keys", "create", "--role", "bureau", "--burst", "-1"}, "--burst"},
		{"create with an argument", []string{"keys", "create", "--role", "bureau", "extra"}, "unexpected argument"},
		{"pg and file", []string{"keys", "list", "--pg", "postgres://x/y", "--file", "k.json"}, "give one"},
		{"empty file", []string{"keys", "list", "--file", ""}, "--file"},
		{"list with an argument", []string{"keys", "list", "extra"}, "unexpected argument"},
		{"revoke without id", []string{"keys", "revoke"}, "one key id"},
		{"revoke of two", []string{"keys", "revoke", "a", "b"}, "one key id"},
		{"list with a create flag", []string{"keys", "list", "--role", "merchant"}, "-role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := newTestMain()
			err := m.ParseFlags(tc.args)
			if !IsUsage(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseFlags(%q): %v, want a usage error naming %s", tc.args, err, tc.want)
			}
		})
	}
}

func TestKeysHelp(t *testing.T) {
	m, out, _ := newTestMain()
	if err := m.ParseFlags([]string{"help", "keys", "create"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("help keys create: %v", err)
	}
	for _, w := range []string{"keys create --role", "-store", "-platform", "-rider", "-rate", "-burst", "-pg", "-file"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("help keys create lacks %q:\n%s", w, out)
		}
	}
	m, out, _ = newTestMain()
	if err := m.ParseFlags([]string{"help"}); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "keys") {
		t.Errorf("help: %v, lacks keys:\n%s", err, out)
	}
}

// TestKeysPostgres creates, lists and revokes keys in a schema of its own.
func TestKeysPostgres(t *testing.T) {
	pgURL := os.Getenv(EnvPGURL)
	if pgURL == "" {
		if os.Getenv("ZX_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is required (ZX_REQUIRE_SERVICES=1); run make services-up", EnvPGURL)
		}
		t.Skipf("%s unset: no PostgreSQL to keep keys in (make services-up)", EnvPGURL)
	}
	url := mustSchema(t, pgURL)
	t.Setenv(EnvPGURL, url) // keys uses the variable serve uses
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())

	_, out, errOut := MustRun(t, "keys", "create", "--role", "platform", "--platform", "meituan")
	key := strings.TrimSpace(out)
	id, err := auth.ParseKey(key)
	if err != nil || !strings.Contains(errOut, "PostgreSQL") {
		t.Fatalf("keys create: %q, %v; stderr %q", out, err, errOut)
	}
	_, list, _ := MustRun(t, "keys", "list", "--pg", url)
	if !strings.Contains(list, id) || !strings.Contains(list, "platform=meituan") {
		t.Errorf("keys list:\n%s", list)
	}
	MustRun(t, "keys", "revoke", id)
	_, list, _ = MustRun(t, "keys", "list")
	if l := strings.Split(strings.TrimSpace(list), "\n"); len(l) != 2 || strings.HasSuffix(l[1], "-") {
		t.Errorf("keys list after revoke:\n%s", list)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "zhengxiang", "keys.json")); err == nil {
		t.Error("with --pg, a key file was written too")
	}
}
