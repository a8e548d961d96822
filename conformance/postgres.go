package conformance

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

// Environment variables that choose the PostgreSQL server of the tests.
const (
	// EnvDatabaseURL names an existing server to use instead of a container.
	EnvDatabaseURL = "GUE_TEST_DATABASE_URL"
	// EnvPostgresImage names the container image to start.
	EnvPostgresImage = "GUE_TEST_POSTGRES_IMAGE"
	// DefaultImage is the image used when EnvPostgresImage is unset.
	DefaultImage = "postgres:15"
)

var server struct {
	once      sync.Once
	dsn       string
	err       error
	container testcontainers.Container
	dbSeq     atomic.Int64
}

// ServerDSN returns the DSN of the test server's administrative database,
// starting the container on first use. It fails tb when no server can be had.
func ServerDSN(tb testing.TB) string {
	tb.Helper()
	dsn, err := StartServer()
	if err != nil {
		tb.Fatalf("conformance: no PostgreSQL for tests: %v", err)
	}
	return dsn
}

// StartServer is ServerDSN for code without a testing.TB, such as TestMain
// preparing DATABASE_URL for runnable examples. The server is started once
// per process; later calls return the same DSN or error.
func StartServer() (dsn string, err error) {
	server.once.Do(func() { startServer(testSettings, true) })
	return server.dsn, server.err
}

// testSettings suit tests: durability is not under test, and process-level
// tests run 100+ worker connections at once.
var testSettings = []string{"fsync=off", "max_connections=300"}

// StartServerWith is StartServer with the server settings (name=value, as
// for postgres -c) of the caller's choice instead of the tests' fsync=off and
// max_connections=300; a benchmark passes none to measure PostgreSQL's
// defaults, its data directory on the container's disk. Only the first
// call of either function in a process starts a server, with its settings.
func StartServerWith(settings ...string) (dsn string, err error) {
	server.once.Do(func() { startServer(settings, false) })
	return server.dsn, server.err
}

// dataDir is the data directory of the image (scripts/test-env.sh's PGDATA).
const dataDir = "/var/lib/postgresql/data"

// startServer starts the container with settings, its data directory in
// memory with inMemory. The tests create and drop a database for every
// case, some 300 files each: on the disk's ext4 (through the container's
// overlay), finding a free inode among those just deleted took most of
// the server's CPU, about a third of the machine's in a conformance run
// (perf, 2 cores). The tests do not restart this server, which would lose
// a data directory in memory (reliability's restartable server has its
// own container).
func startServer(settings []string, inMemory bool) {
	if dsn := os.Getenv(EnvDatabaseURL); dsn != "" {
		server.dsn = dsn
		fmt.Fprintf(os.Stderr, "conformance: using PostgreSQL from %s\n", EnvDatabaseURL)
		return
	}
	image := os.Getenv(EnvPostgresImage)
	if image == "" {
		image = DefaultImage
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := tcpostgres.Run(ctx, image,
		tcpostgres.WithDatabase("gue"),
		tcpostgres.WithUsername("gue"),
		tcpostgres.WithPassword("gue"),
		tcpostgres.BasicWaitStrategies(),
		testcontainers.CustomizeRequestOption(func(req *testcontainers.GenericContainerRequest) error {
			req.Cmd = []string{"postgres"}
			for _, s := range settings {
				req.Cmd = append(req.Cmd, "-c", s)
			}
			if inMemory {
				req.Tmpfs = map[string]string{dataDir: "rw"}
			}
			return nil
		}),
	)
	if err != nil {
		if c != nil {
			_ = testcontainers.TerminateContainer(c)
		}
		server.err = fmt.Errorf("start container from image %q (set %s or %s): %w", image, EnvPostgresImage, EnvDatabaseURL, err)
		return
	}
	server.container = c
	server.dsn, server.err = c.ConnectionString(ctx, "sslmode=disable")
	if server.err == nil {
		server.dsn = direct(ctx, c, server.dsn)
	}
	fmt.Fprintf(os.Stderr, "conformance: started PostgreSQL container %.12s from image %s in %s\n",
		c.GetContainerID(), image, time.Since(start).Round(time.Millisecond))
}

// direct returns dsn pointed at the container's own address when this host
// can reach it, as on Linux: the published port goes through docker-proxy,
// a process that copies every byte in user space, on the same two cores
// that run the tests and the server.
func direct(ctx context.Context, c testcontainers.Container, dsn string) string {
	ip, err := c.ContainerIP(ctx)
	if err != nil || ip == "" {
		return dsn
	}
	addr := net.JoinHostPort(ip, "5432")
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return dsn
	}
	_ = conn.Close()
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.Host = addr
	return u.String()
}

// Terminate stops the container started by ServerDSN, if any. Call it from
// TestMain after m.Run.
func Terminate() {
	if server.container != nil {
		_ = testcontainers.TerminateContainer(server.container)
		server.container = nil
	}
}

// NewDatabase creates an empty database on the test server, returns its DSN
// and drops it when t ends. open is used for the administrative connection.
func NewDatabase(t *testing.T, open OpenFunc) string {
	t.Helper()
	admin := ServerDSN(t)
	dsn := CreateDatabase(t, open(t, admin), admin)
	PrepareCitusDatabase(t, admin, strings.TrimPrefix(parseURL(t, dsn).Path, "/"), execWith(t, open))
	return dsn
}

// CreateDatabase creates an empty database through admin, a pool on the
// server at adminDSN (such as ServerDSN), and returns its DSN. It drops the
// database when tb ends, so admin must stay open until then: open it before
// calling CreateDatabase, since cleanups run last-registered first.
func CreateDatabase(tb testing.TB, admin adapter.ConnPool, adminDSN string) string {
	tb.Helper()
	name := fmt.Sprintf("gue_test_%d_%d", os.Getpid(), server.dbSeq.Add(1))
	ctx := context.Background()
	if _, err := admin.Exec(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		tb.Fatalf("conformance: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if dropLater(name) {
			return // see ThroughPgBouncer
		}
		// FORCE ends connections a failed test may have leaked.
		if _, err := admin.Exec(context.Background(), `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			tb.Errorf("conformance: drop database %s: %v", name, err)
		}
	})
	return withDatabase(tb, adminDSN, name)
}

// parseURL parses a postgres:// DSN or fails tb.
func parseURL(tb testing.TB, dsn string) *url.URL {
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("conformance: parse %s: %v", dsn, err)
	}
	return u
}

// withDatabase returns dsn pointed at database name, for URL and key=value DSNs.
func withDatabase(t testing.TB, dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("conformance: parse %s: %v", EnvDatabaseURL, err)
		}
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name
}
