package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/spf13/cobra"
)

func (a *app) migrateCommand() *cobra.Command {
	m := &cobra.Command{
		Use:   "migrate",
		Short: "Create or update gue's tables (up), show what is applied (status), print the SQL (sql)",
		Example: `  gue migrate status
  gue migrate up
  gue migrate sql > 0001_gue.sql   # for goose, golang-migrate or Atlas users`,
	}
	up := &cobra.Command{
		Use:     "up",
		Short:   "Apply every pending migration (idempotent; safe from several processes at once)",
		Example: `  gue migrate up --schema jobs`,
		Args:    exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			before, err := gue.Migrations(c.Context(), a.pool, a.schema)
			if err != nil {
				return cmdErr(err)
			}
			if err := gue.Migrate(c.Context(), a.pool, a.schema); err != nil {
				return cmdErr(err)
			}
			n := 0
			for _, m := range before {
				if !m.Applied {
					n++
					fmt.Fprintf(a.out, "applied %04d_%s\n", m.Version, m.Name)
				}
			}
			fmt.Fprintf(a.out, "schema %s is up to date (%d migration(s) applied now, %d in all)\n", a.schema, n, len(before))
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "List the migrations and whether each is applied; exits 3 while any is pending",
		Example: `  gue migrate status
  gue migrate status --json | jq '.[] | select(.applied | not)'`,
		Args: exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			ms, err := gue.Migrations(c.Context(), a.pool, a.schema)
			if err != nil {
				return cmdErr(err)
			}
			pending := 0
			for _, m := range ms {
				if !m.Applied {
					pending++
				}
			}
			if a.jsonOut {
				if err := a.printJSON(ms); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
				for _, m := range ms {
					at := "pending"
					if m.Applied {
						at = m.AppliedAt.Local().Format(time.DateTime)
					}
					fmt.Fprintf(tw, "%04d\t%s\t%s\n", m.Version, m.Name, at)
				}
				_ = tw.Flush()
			}
			if pending > 0 {
				return &exitError{code: exitAttention, err: fmt.Errorf("%d migration(s) pending in schema %s: run `gue migrate up`", pending, a.schema)}
			}
			return nil
		},
	}
	a.jsonFlag(status)
	var all bool
	sqlCmd := &cobra.Command{
		Use:   "sql",
		Short: "Print the SQL that `migrate up` would run (pending migrations; --all for every one)",
		Long: `Print the SQL that ` + "`gue migrate up`" + ` would run for the pending migrations, for users
who apply migrations with their own tool. Without a database (no --database-url
and no DATABASE_URL) it prints every migration. It does not create the schema
or record versions in gue_migrations as ` + "`migrate up`" + ` does.`,
		Example: `  gue migrate sql --all --schema jobs > migrations/0001_gue.up.sql`,
		Args:    exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, _ []string) error {
			if all || (a.dbURL == "" && getenv("DATABASE_URL") == "") {
				s, err := gue.SchemaSQL(a.schema)
				if err != nil {
					return cmdErr(err)
				}
				fmt.Fprint(a.out, s)
				return nil
			}
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			ms, err := gue.Migrations(c.Context(), a.pool, a.schema)
			if err != nil {
				return cmdErr(err)
			}
			n := 0
			for _, m := range ms {
				if !m.Applied {
					n++
					fmt.Fprintf(a.out, "-- gue-go migration %04d_%s\n%s\n", m.Version, m.Name, m.SQL)
				}
			}
			if n == 0 {
				fmt.Fprintf(a.errOut, "schema %s is up to date: nothing to run\n", a.schema)
			}
			return nil
		},
	}
	sqlCmd.Flags().BoolVar(&all, "all", false, "print every migration, applied or not")
	m.AddCommand(up, status, sqlCmd)
	return m
}
