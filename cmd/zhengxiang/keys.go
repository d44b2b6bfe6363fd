package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"zhengxiang/api/auth"
	"zhengxiang/orders/postgres"
)

// keysCmd creates, lists and revokes the public API's keys, in PostgreSQL
// (--pg) or, without it, in a JSON file (--file).
type keysCmd struct {
	op string // create, list or revoke
	fs *flag.FlagSet

	pg, file string
	usePG    bool // the keys are in PostgreSQL, not in the file

	// create
	role                  string
	platform, rider, name string
	stores                stringsFlag
	rate                  float64
	burst                 int
	principal             auth.Principal

	// revoke
	revokeID string
}

// stringsFlag is a flag that may be given more than once.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }

func (s *stringsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// defaultKeyFile is $XDG_CONFIG_HOME/zhengxiang/keys.json, or
// ~/.config/zhengxiang/keys.json; "" when neither is known.
func defaultKeyFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "zhengxiang", "keys.json")
}

func newKeysCmd(fs *flag.FlagSet, op string) *keysCmd {
	c := &keysCmd{op: op, fs: fs}
	fs.StringVar(&c.pg, "pg", os.Getenv(EnvPGURL), "PostgreSQL `url` of the record, which keeps the keys (env "+EnvPGURL+"); empty: the key file")
	fs.StringVar(&c.file, "file", defaultKeyFile(), "key `file` used without PostgreSQL")
	if op != "create" {
		return c
	}
	fs.StringVar(&c.role, "role", "", "the key's `role`: platform, merchant, rider, operator or bureau")
	fs.StringVar(&c.platform, "platform", "", "`platform` of a platform key, or of an operator key (none: the city's operator)")
	fs.Var(&c.stores, "store", "`store` id of a merchant key; repeat for several stores")
	fs.StringVar(&c.rider, "rider", "", "`rider` id of a rider key")
	fs.StringVar(&c.name, "name", "", "a `label` for people")
	fs.Float64Var(&c.rate, "rate", 0, "the key's requests per second (0: the server's default)")
	fs.IntVar(&c.burst, "burst", 0, "the key's burst of requests (0: the server's default)")
	return c
}

func (c *keysCmd) setup(args []string) error {
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case set["pg"] && set["file"]:
		return usagef("keys %s: --pg and --file name two stores: give one", c.op)
	case set["file"] && c.file == "":
		return usagef("keys %s: --file is empty", c.op)
	case !set["file"] && c.pg == "" && c.file == "":
		return usagef("keys %s: no --pg and no --file (and no config folder for the default file)", c.op)
	}
	c.usePG = c.pg != "" && !set["file"]

	switch c.op {
	case "create":
		if len(args) > 0 {
			return usagef("keys create: unexpected argument %q", args[0])
		}
		if c.role == "" {
			return usagef("keys create: --role is required (platform, merchant, rider, operator or bureau)")
		}
		c.principal = auth.Principal{Role: auth.Role(c.role), Platform: c.platform, Stores: c.stores, Rider: c.rider, Name: c.name}
		if err := c.principal.Validate(); err != nil {
			return usagef("keys create: %v", err)
		}
		if c.rate < 0 || math.IsNaN(c.rate) || math.IsInf(c.rate, 0) {
			return usagef("keys create: --rate: %v is not a rate", c.rate)
		}
		if c.burst < 0 {
			return usagef("keys create: --burst: %d is negative", c.burst)
		}
	case "list":
		if len(args) > 0 {
			return usagef("keys list: unexpected argument %q", args[0])
		}
	case "revoke":
		if len(args) != 1 {
			return usagef("keys revoke: want one key id, got %d arguments", len(args))
		}
		// The id, or the whole key when that is what is at hand.
		c.revokeID = args[0]
		if id, err := auth.ParseKey(args[0]); err == nil {
			c.revokeID = id
		}
	}
	return nil
}

func (c *keysCmd) run(ctx context.Context, m *Main) error {
	store, where, closeStore, err := c.open(ctx)
	if err != nil {
		return fmt.Errorf("keys %s: %w", c.op, err)
	}
	defer closeStore()
	switch c.op {
	case "create":
		err = c.create(ctx, m, store, where)
	case "list":
		err = c.list(ctx, m, store)
	case "revoke":
		err = c.revoke(ctx, m, store)
	}
	if err != nil {
		return fmt.Errorf("keys %s: %w", c.op, err)
	}
	return nil
}

// open returns the store of the keys, migrated when it is PostgreSQL, and
// where it is, for people.
func (c *keysCmd) open(ctx context.Context) (auth.Store, string, func(), error) {
	if !c.usePG {
		return auth.NewFileStore(c.file), c.file, func() {}, nil
	}
	if err := postgres.Migrate(ctx, c.pg); err != nil {
		return nil, "", nil, fmt.Errorf("migrate: %w", err)
	}
	db, err := postgres.Open(ctx, c.pg)
	if err != nil {
		return nil, "", nil, err
	}
	return auth.NewPostgresStore(db.Pool()), "PostgreSQL", db.Close, nil
}

func (c *keysCmd) create(ctx context.Context, m *Main, store auth.Store, where string) error {
	key, sk, err := auth.NewKey(c.principal)
	if err != nil {
		return err
	}
	sk.RatePerSecond, sk.Burst = c.rate, c.burst
	if err := store.Put(ctx, sk); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(m.Stdout, key); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "created API key %s (%s, %s), kept as a hash in %s.\n"+
		"The key above is shown this once and cannot be shown again: hand it over now.\n",
		sk.KeyID, sk.Principal.Role, scope(sk.Principal), where)
	return nil
}

func (c *keysCmd) list(ctx context.Context, m *Main, store auth.Store) error {
	ks, err := store.List(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tROLE\tSCOPE\tNAME\tRATE\tCREATED\tREVOKED")
	for _, k := range ks {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.KeyID, k.Principal.Role, scope(k.Principal),
			orDash(k.Principal.Name), rateText(k), k.CreatedAt.UTC().Format(time.RFC3339), timeText(k.RevokedAt))
	}
	return w.Flush()
}

func (c *keysCmd) revoke(ctx context.Context, m *Main, store auth.Store) error {
	if err := store.Revoke(ctx, c.revokeID); err != nil {
		return err
	}
	_, err := fmt.Fprintf(m.Stdout, "revoked API key %s; running servers refuse it within %v\n", c.revokeID, auth.DefaultCacheTTL)
	return err
}

// scope describes what a principal sees.
func scope(p auth.Principal) string {
	switch {
	case p.Platform != "":
		return "platform=" + p.Platform
	case len(p.Stores) > 0:
		return "stores=" + strings.Join(p.Stores, ",")
	case p.Rider != "":
		return "rider=" + p.Rider
	case p.Role == auth.RoleOperator:
		return "every platform"
	}
	return "aggregates"
}

func rateText(k auth.StoredKey) string {
	if k.RatePerSecond == 0 && k.Burst == 0 {
		return "default"
	}
	r, b := "default", "default"
	if k.RatePerSecond > 0 {
		r = strconv.FormatFloat(k.RatePerSecond, 'g', -1, 64) + "/s"
	}
	if k.Burst > 0 {
		b = strconv.Itoa(k.Burst)
	}
	return r + " burst " + b
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
