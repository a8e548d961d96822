package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// created is every database newDatabase made in this run. On a server the
// bench did not start itself (DATABASE_URL) they are dropped when the run
// ends, or each run would leave its databases behind: about twenty
// megabytes each, several per system measured.
var created struct {
	mu    sync.Mutex
	names []string
}

func recordDatabase(name string) {
	created.mu.Lock()
	defer created.mu.Unlock()
	created.names = append(created.names, name)
}

// dropDatabases drops the databases of this run on the server of adminDSN
// and, on Citus, on its workers. WITH (FORCE): the pools of the systems
// measured may still be open.
func dropDatabases(adminDSN string) {
	created.mu.Lock()
	names := created.names
	created.names = nil
	created.mu.Unlock()
	if len(names) == 0 {
		return
	}
	servers := []string{adminDSN}
	if citusWorkers != "" {
		servers = append(servers, strings.Split(citusWorkers, ",")...)
	}
	ctx := context.Background()
	for _, dsn := range servers {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: could not drop this run's databases on %s: %v\n", redact(dsn), err)
			continue
		}
		for _, name := range names {
			if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
				fmt.Fprintf(os.Stderr, "bench: drop database %s: %v\n", name, err)
			}
		}
		_ = conn.Close(ctx)
	}
}

// redact is dsn without its password, for messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the server"
	}
	return u.Redacted()
}
