package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"zhengxiang/orders/postgres"
)

// migrateCmd applies the record's migrations to a PostgreSQL database.
type migrateCmd struct{ pg string }

func newMigrateCmd(fs *flag.FlagSet) *migrateCmd {
	c := &migrateCmd{}
	fs.StringVar(&c.pg, "pg", os.Getenv(EnvPGURL), "PostgreSQL `url` (env "+EnvPGURL+")")
	return c
}

func (c *migrateCmd) setup(args []string) error {
	if len(args) > 0 {
		return usagef("migrate: unexpected argument %q", args[0])
	}
	if c.pg == "" {
		return usagef("migrate: --pg (or %s) is required", EnvPGURL)
	}
	return nil
}

func (c *migrateCmd) run(ctx context.Context, m *Main) error {
	if err := postgres.Migrate(ctx, c.pg); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	_, err := fmt.Fprintln(m.Stdout, "migrations applied")
	return err
}
