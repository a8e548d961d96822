package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// EnvPgBouncer names the pgbouncer binary of the runs through PgBouncer.
// Unset, pgbouncer is looked up on PATH and its runs are skipped when it is
// missing; scripts/test-env.sh installs it and sets this variable, which
// makes a missing binary a failure instead of a skip.
const EnvPgBouncer = "GUE_TEST_PGBOUNCER"

// bouncer is the state of a run through PgBouncer.
var bouncer struct {
	mu sync.Mutex
	// active: a PgBouncer runs in front of the server; the databases the
	// suite makes meanwhile are dropped after it stops (drops).
	active bool
	drops  []string
}

// ThroughPgBouncer returns open with every DSN pointed at a PgBouncer in
// transaction pooling mode in front of the test server, started now and
// stopped when t ends: the suite then runs as a deployment behind a
// transaction-mode pooler does. The databases the suite makes meanwhile are
// dropped once PgBouncer has stopped: dropping one WITH (FORCE) under it
// makes PgBouncer 1.18 exit ("server in bad state"), and so does its own
// KILL ("bad client state"). It skips t when pgbouncer is not installed and
// EnvPgBouncer is unset.
func ThroughPgBouncer(t *testing.T, open OpenFunc) OpenFunc {
	t.Helper()
	bin := os.Getenv(EnvPgBouncer)
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("pgbouncer"); err != nil {
			t.Skipf("no pgbouncer on PATH (scripts/test-env.sh installs it and sets %s)", EnvPgBouncer)
		}
	}
	server := ServerDSN(t)
	admin := open(t, server) // until t ends: it drops the databases
	addr, stop, err := startPgBouncer(bin, server)
	if err != nil {
		t.Fatalf("conformance: PgBouncer: %v", err)
	}
	bouncer.mu.Lock()
	bouncer.active = true
	bouncer.mu.Unlock()
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
		bouncer.mu.Lock()
		names := bouncer.drops
		bouncer.active, bouncer.drops = false, nil
		bouncer.mu.Unlock()
		for _, name := range names {
			if _, err := admin.Exec(context.Background(), `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
				t.Errorf("conformance: drop database %s: %v", name, err)
			}
		}
	})
	return func(t *testing.T, dsn string) adapter.ConnPool {
		t.Helper()
		if dsn == server {
			// The administrative pool, which makes the suite's
			// databases, goes to the server itself.
			return open(t, dsn)
		}
		u := parseURL(t, dsn)
		u.Host = addr // user and password stay: see startPgBouncer
		return open(t, u.String())
	}
}

// dropLater reports whether database name is to be dropped once the
// PgBouncer in front of the server has stopped, and records it if so.
func dropLater(name string) bool {
	bouncer.mu.Lock()
	defer bouncer.mu.Unlock()
	if bouncer.active {
		bouncer.drops = append(bouncer.drops, name)
	}
	return bouncer.active
}

// startPgBouncer starts bin in front of the server at dsn, on a free port of
// loopback, and waits until it accepts connections. It accepts any user with
// no password (auth_type any), and logs in to the server as the DSN's user.
func startPgBouncer(bin, dsn string) (addr string, stop func() error, err error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("the test server's DSN must be a postgres:// URL to put PgBouncer in front of it: %q", dsn)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	password := "" // none: the server trusts the user, or a .pgpass says it
	if pass, ok := u.User.Password(); ok && pass != "" {
		password = " password=" + iniValue(pass)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	listen := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	dir, err := os.MkdirTemp("", "gue-pgbouncer-")
	if err != nil {
		return "", nil, err
	}
	// Every database name goes to the server ("*"), with the server's own
	// credentials, so that the suite's databases, made as it runs, need no
	// entry of their own. A pool per database of up to 40 server
	// connections, more than a case opens at once; 100 in all, closed after
	// a second idle: the suite's databases outlive their cases (see
	// ThroughPgBouncer), and connections kept to each would exhaust the
	// server's max_connections.
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s user=%s%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = any
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 40
max_user_connections = 100
server_idle_timeout = 1
ignore_startup_parameters = extra_float_digits,options
server_reset_query =
logfile = %s
pidfile = %s
`, iniValue(host), port, iniValue(u.User.Username()), password, listen,
		filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))
	conf := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(conf, []byte(ini), 0o600); err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if os.Geteuid() == 0 {
		// PgBouncer refuses to run as root: run it as the owner of its
		// directory, nobody.
		if err := chownNobody(cmd, dir); err != nil {
			return "", nil, err
		}
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(listen))
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			return "", nil, fmt.Errorf("pgbouncer exited (%v): %s%s", err, out.String(), log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return "", nil, errors.New("pgbouncer did not accept connections within 20 s: " + out.String())
		}
	}
	fmt.Fprintf(os.Stderr, "conformance: PgBouncer (transaction pooling) on %s in front of %s:%s\n", addr, host, port)
	return addr, func() error { return stopPgBouncer(cmd, exited, dir) }, nil
}

// stopPgBouncer stops the PgBouncer cmd, whose Wait reports to exited,
// and removes its directory. Its error says why PgBouncer had exited
// before, from its log, or that no client logged in through it.
func stopPgBouncer(cmd *exec.Cmd, exited <-chan error, dir string) error {
	defer os.RemoveAll(dir)
	select {
	case err := <-exited:
		log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
		if i := bytes.LastIndex(log, []byte("\n")); i > 0 {
			if j := bytes.LastIndex(log[:i], []byte("\n")); j > 0 {
				log = log[j+1:]
			}
		}
		return fmt.Errorf("conformance: PgBouncer exited before the tests ended (%v): %s", err, log)
	default:
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	// The control: the suite's pools did go through it.
	log, err := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
	if err != nil {
		return fmt.Errorf("conformance: PgBouncer's log: %w", err)
	}
	if n := bytes.Count(log, []byte(" login attempt: ")); n == 0 {
		return errors.New("conformance: no client logged in through PgBouncer: the suite did not go through it")
	}
	return nil
}

// iniValue quotes a libpq connection-string value for PgBouncer's
// [databases] section.
func iniValue(s string) string {
	if s != "" && !strings.ContainsAny(s, ` '\`) {
		return s
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
