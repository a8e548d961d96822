package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// defaultMaxConnections is PostgreSQL's max_connections when unset.
const defaultMaxConnections = 100

// connectionsSpare is what a run opens beside the measured system's pool:
// the admin connection that creates each database, the reads of its
// progress, -pressure's holder and readers, and the server's connections
// reserved for superusers.
const connectionsSpare = 20

// parsePoolSizes reads -producer's list of pool sizes.
func parsePoolSizes(list string) ([]int, error) {
	if list == "" {
		return nil, nil
	}
	var sizes []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a pool size", f)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// connectionsNeeded is the most connections a run opens at once: the
// side-by-side run's and -pressure's pools of workers + 10, or the largest
// -producer pool of size + 4 (the default mode holds one connection per
// worker), plus connectionsSpare.
func connectionsNeeded(workers int, producerSizes []int) int {
	most := workers + 10
	for _, n := range producerSizes {
		most = max(most, n+4)
	}
	return most + connectionsSpare
}

// serverSettings are the settings a server the bench starts itself gets
// beyond PostgreSQL's defaults: max_connections, only where the run needs
// more than the default allows (-producer 128,256 in the default mode:
// 260 connections).
func serverSettings(need int) []string {
	if need <= defaultMaxConnections {
		return nil
	}
	return []string{fmt.Sprintf("max_connections=%d", need)}
}

// checkConnections refuses a server of someone's own (DATABASE_URL) whose
// max_connections is below what the run needs, before any system runs,
// rather than part-way through with "too many clients".
func checkConnections(ctx context.Context, adminDSN string, need int) error {
	have, err := maxConnections(ctx, adminDSN)
	if err != nil {
		return err
	}
	if have < need {
		return fmt.Errorf("the server's max_connections is %d; this run opens up to %d connections at once (its largest pool and %d beside it): raise max_connections, or run smaller pools", have, need, connectionsSpare)
	}
	return nil
}

// asServerOptions is settings as options of postgres (-c name=value), for
// a local server's pg_ctl -o.
func asServerOptions(settings []string) []string {
	var opts []string
	for _, s := range settings {
		opts = append(opts, "-c "+s)
	}
	return opts
}

// maxConnections is the max_connections of the server of dsn.
func maxConnections(ctx context.Context, dsn string) (int, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT pg_catalog.current_setting('max_connections')::int`).Scan(&n)
	return n, err
}
