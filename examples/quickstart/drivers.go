package main

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/driver-libpq"
	"github.com/gue-go/gue/driver-pgxv3"
	"github.com/gue-go/gue/driver-pgxv4"
	"github.com/gue-go/gue/driver-pgxv5"
	pgxv3pkg "github.com/jackc/pgx"
	pgxv4pool "github.com/jackc/pgx/v4/pgxpool"
	pgxv5pool "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "github.com/lib/pq"              // database/sql driver "postgres"
)

// drivers lists the -driver choices.
const drivers = "pgxv4, pgxv5, pgxv3, libpq, pgx-stdlib"

// openPool connects with the chosen driver and returns the adapted pool; its
// Close closes the driver's pool.
func openPool(ctx context.Context, driver, dsn string) (adapter.ConnPool, error) {
	switch driver {
	case "pgxv4":
		p, err := pgxv4pool.Connect(ctx, dsn)
		if err != nil {
			return nil, err
		}
		return pgxv4.NewConnPool(p), nil
	case "pgxv5":
		p, err := pgxv5pool.New(ctx, dsn)
		if err != nil {
			return nil, err
		}
		return pgxv5.NewConnPool(p), nil
	case "pgxv3":
		cfg, err := pgxv3pkg.ParseURI(dsn)
		if err != nil {
			return nil, err
		}
		p, err := pgxv3pkg.NewConnPool(pgxv3pkg.ConnPoolConfig{ConnConfig: cfg})
		if err != nil {
			return nil, err
		}
		return pgxv3.NewConnPool(p), nil
	case "libpq", "pgx-stdlib":
		name := map[string]string{"libpq": "postgres", "pgx-stdlib": "pgx"}[driver]
		db, err := sql.Open(name, dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxIdleConns(20) // keep connections for reuse (database/sql keeps 2)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, err
		}
		return libpq.NewConnPool(db), nil
	}
	return nil, fmt.Errorf("unknown driver %q; choose one of %s", driver, drivers)
}
