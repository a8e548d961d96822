package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	pgxv5 "github.com/gue-go/gue/driver-pgxv5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
)

// app is one run of the command: its flags, streams and connection.
type app struct {
	dbURL   string
	schema  string
	jsonOut bool

	stdin       io.Reader
	out, errOut io.Writer

	pgx    *pgxpool.Pool
	pool   adapter.ConnPool
	client *gue.Client
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "gue",
		Short: "Operate a gue-go job queue on PostgreSQL",
		Long: `gue operates a gue-go job queue: migrate its schema, look at queues, jobs and
worker pools, enqueue, retry, cancel, delete, pause and resume, check the
database's setup (doctor) and measure it (bench).

Connection: --database-url or DATABASE_URL; --schema (default public).

Exit codes: 0 success; 1 failure (database unreachable, unknown job or queue,
bad input); 2 usage; 3 attention (migrations pending, a doctor check failed);
4 refused (an action on many jobs without --yes).`,
		Example: `  export DATABASE_URL=postgres://app@localhost/app
  gue migrate up
  gue stats --watch
  gue list --state dead --queue emails
  gue retry --state dead --queue emails --yes`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.dbURL, "database-url", "", "PostgreSQL connection URL (default $DATABASE_URL)")
	root.PersistentFlags().StringVar(&a.schema, "schema", "public", "schema holding gue's tables")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError("%v", err) })
	root.AddCommand(a.migrateCommand(), a.statsCommand(), a.listCommand(), a.showCommand(), a.enqueueCommand(),
		a.actionCommand("retry"), a.actionCommand("cancel"), a.actionCommand("delete"),
		a.pauseCommand(true), a.pauseCommand(false), a.poolsCommand(), a.periodicCommand(),
		a.doctorCommand(), a.benchCommand(), a.uiCommand())
	return root
}

// isUsage reports whether err is cobra's complaint about the command line.
func isUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires ", "invalid argument"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}

// jsonFlag adds --json to c.
func (a *app) jsonFlag(c *cobra.Command) {
	c.Flags().BoolVar(&a.jsonOut, "json", false, "print JSON for scripts instead of a table")
}

// connect opens the database and the Client, once.
func (a *app) connect(ctx context.Context) error {
	if a.client != nil {
		return nil
	}
	url := a.dbURL
	if url == "" {
		url = os.Getenv("DATABASE_URL")
	}
	if url == "" {
		return usageError("no database: pass --database-url or set DATABASE_URL")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("bad database URL: %v", redact(err, url))
	}
	cfg.MaxConns = 8
	cfg.ConnConfig.RuntimeParams["application_name"] = "gue-cli"
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("cannot connect to the database: %v", redact(err, url))
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := p.Ping(pctx); err != nil {
		p.Close()
		return fmt.Errorf("cannot connect to the database: %v", redact(err, url))
	}
	a.pgx, a.pool = p, pgxv5.NewConnPool(p)
	a.client = gue.NewClient(a.pool, gue.WithClientSchema(a.schema), gue.WithClientLogger(adapter.NoOpLogger{}))
	return nil
}

// redact removes the connection string from err's text, which may carry a
// password.
func redact(err error, url string) string {
	msg := err.Error()
	if url != "" {
		msg = strings.ReplaceAll(msg, url, "<database-url>")
	}
	return oneLine(msg)
}

// oneLine joins a multi-line message into one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (a *app) close() {
	if a.pgx != nil {
		a.pgx.Close()
	}
}

// printJSON prints v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // a terminal or a script reads it, not a browser
	return enc.Encode(v)
}

// cmdErr turns a gue error into the command's message.
func cmdErr(err error) error {
	if errors.Is(err, gue.ErrNotMigrated) {
		return fmt.Errorf("the schema is not migrated (or not to this version): run `gue migrate up`: %v", block(oneLine(err.Error())))
	}
	return errors.New(block(oneLine(err.Error())))
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("expected %s, got %d argument(s)", what, len(args))
		}
		return nil
	}
}

// printJSONLine prints v as one line of JSON (NDJSON under --watch).
func (a *app) printJSONLine(v any) error {
	enc := json.NewEncoder(a.out)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// ownPool is a pgx pool of its own, for the bench's workers.
type ownPool struct {
	pgx  *pgxpool.Pool
	pool adapter.ConnPool
}

func pgxPoolWith(ctx context.Context, cfg *pgxpool.Config) (*ownPool, error) {
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the database: %v", oneLine(err.Error()))
	}
	return &ownPool{pgx: p, pool: pgxv5.NewConnPool(p)}, nil
}

func (o *ownPool) close() { o.pgx.Close() }
