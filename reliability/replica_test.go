package reliability_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// localServers is one or two servers run from the machine's own PostgreSQL
// binaries (Debian's postgresql-NN) in a directory of the test's: a server
// of its own (initPrimary), or a primary and a streaming standby made from
// it with pg_basebackup (startReplicaPair), for the failover of a managed
// database, where the standby is promoted when the primary is lost.
type localServers struct {
	t      *testing.T
	bin    string
	dir    string
	asUser []string // the command prefix that drops root, or nil
	ports  [2]int   // primary, standby
}

// serverBin returns the bin directory of the newest PostgreSQL installed,
// installing Debian's postgresql-15 when none is (as scripts/check-db.sh
// does).
func serverBin(t *testing.T) string {
	t.Helper()
	find := func() string {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Slice(dirs, func(i, j int) bool {
			a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
			b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
			return a > b
		})
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, "pg_basebackup")); err == nil {
				return d
			}
		}
		return ""
	}
	if b := find(); b != "" {
		return b
	}
	if out, err := exec.Command("../scripts/apt-install.sh", "postgresql-15").CombinedOutput(); err != nil {
		t.Fatalf("a primary and a standby need PostgreSQL's server binaries; installing postgresql-15: %v\n%s", err, out)
	}
	if b := find(); b != "" {
		return b
	}
	t.Fatal("no PostgreSQL server binaries under /usr/lib/postgresql after installing postgresql-15")
	return ""
}

// startReplicaPair starts a primary and a standby streaming from it. With
// syncStandby, the primary's commits wait for the standby to have flushed
// them (synchronous_standby_names = '*').
func startReplicaPair(t *testing.T, syncStandby bool) *localServers {
	t.Helper()
	r := newLocalServers(t)
	r.initPrimary("wal_level = replica\nmax_wal_senders = 4\n")
	// The standby: a base backup of the primary, with the connection to it
	// in its settings (-R), started in recovery.
	standby := r.data(1)
	r.pg("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(r.ports[0]), "-U", "postgres", "-D", standby, "-R", "-X", "stream", "--no-sync")
	r.start(1)
	if syncStandby {
		// Set on the primary alone, after the base backup copied its
		// settings: a promoted standby that waited for a standby of its
		// own would commit nothing.
		r.exec(0, `ALTER SYSTEM SET synchronous_standby_names = '*'`)
		r.exec(0, `SELECT pg_reload_conf()`)
		deadline := time.Now().Add(stallLimit)
		for {
			var n int64
			r.queryRow(0, &n, `SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'`)
			if n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the standby is not synchronous within %s", stallLimit)
			}
			time.Sleep(20 * time.Millisecond) // no signal to wait on
		}
	}
	return r
}

// newLocalServers prepares the directory and ports of up to two servers;
// initPrimary makes the first.
func newLocalServers(t *testing.T) *localServers {
	t.Helper()
	r := &localServers{t: t, bin: serverBin(t)}
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		if _, err := user.Lookup("postgres"); err != nil {
			t.Fatalf("running as root and no postgres user: %v", err)
		}
		r.asUser = []string{"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"}
	}
	dir, err := os.MkdirTemp("", "gue-servers-")
	if err != nil {
		t.Fatal(err)
	}
	r.dir = dir
	t.Cleanup(r.stopAll)
	if r.asUser != nil {
		run(t, "chown", "postgres:postgres", dir)
	}
	for i := range r.ports {
		if r.ports[i], err = freePort(); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// initPrimary creates and starts server 0 on loopback, with conf added to
// its settings.
func (r *localServers) initPrimary(conf string) {
	r.t.Helper()
	primary := r.data(0)
	r.pg("initdb", "-D", primary, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--no-locale")
	r.appendConf(primary, "listen_addresses = '127.0.0.1'\nmax_connections = 200\n"+
		"unix_socket_directories = '"+r.dir+"'\n"+conf)
	r.start(0)
}

func (r *localServers) data(i int) string {
	return filepath.Join(r.dir, []string{"primary", "standby"}[i])
}

// DSN is the admin DSN of server i (0 the primary, 1 the standby).
func (r *localServers) DSN(i int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", r.ports[i])
}

// multiHost turns dsn, a DSN of the primary, into one that names both
// servers and connects to whichever accepts writes, as a client of a
// managed database with a standby does.
func (r *localServers) multiHost(dsn string) string {
	primary := fmt.Sprintf("127.0.0.1:%d", r.ports[0])
	if !strings.Contains(dsn, primary) {
		r.t.Fatalf("%s is not a DSN of the primary (%s)", dsn, primary)
	}
	return strings.Replace(dsn, primary, primary+fmt.Sprintf(",127.0.0.1:%d", r.ports[1]), 1) + "&target_session_attrs=read-write"
}

func (r *localServers) appendConf(data, conf string) {
	r.t.Helper()
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(conf); err != nil {
		r.t.Fatal(err)
	}
}

func (r *localServers) start(i int) {
	r.t.Helper()
	r.pg("pg_ctl", "-D", r.data(i), "-w", "-l", r.data(i)+".log", "-o", "-p "+strconv.Itoa(r.ports[i]), "start")
}

// crashPrimary stops the primary as a crash does (immediate: no checkpoint,
// no goodbye to its clients or its standby).
func (r *localServers) crashPrimary() {
	r.t.Helper()
	r.pg("pg_ctl", "-D", r.data(0), "-w", "-m", "immediate", "stop")
}

// cutStandby cuts the standby off the primary, as a link that broke: the
// primary refuses replication connections from then on (pg_hba.conf) and
// ends the one it has. An asynchronous primary acknowledges commits
// meanwhile that the standby does not have; a synchronous one ends none.
func (r *localServers) cutStandby() {
	r.t.Helper()
	hba := filepath.Join(r.data(0), "pg_hba.conf")
	old, err := os.ReadFile(hba)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(hba, append([]byte("host replication all all reject\n"), old...), 0o600); err != nil {
		r.t.Fatal(err)
	}
	r.exec(0, `SELECT pg_reload_conf()`)
	r.exec(0, `SELECT pg_terminate_backend(pid) FROM pg_stat_replication`)
	deadline := time.Now().Add(stallLimit)
	for {
		var n int64
		r.queryRow(0, &n, `SELECT count(*) FROM pg_stat_replication`)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the standby still streams %s after it was cut off", stallLimit)
		}
		time.Sleep(10 * time.Millisecond) // no signal to wait on
	}
}

// promote makes the standby the primary and returns once it accepts writes.
func (r *localServers) promote() {
	r.t.Helper()
	r.pg("pg_ctl", "-D", r.data(1), "-w", "promote")
}

// caughtUp waits until the standby has replayed everything the primary had
// written when it was called.
func (r *localServers) caughtUp() {
	r.t.Helper()
	var lsn string
	r.queryRow(0, &lsn, `SELECT pg_current_wal_lsn()::text`)
	deadline := time.Now().Add(stallLimit)
	for {
		var ok bool
		r.queryRow(1, &ok, `SELECT pg_last_wal_replay_lsn() >= '`+lsn+`'::pg_lsn`)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the standby did not replay %s within %s", lsn, stallLimit)
		}
		time.Sleep(20 * time.Millisecond) // the standby's progress has no signal to wait on
	}
}

// queryRow runs sql on server i, in database db when given (default:
// postgres), and scans its row into dest.
func (r *localServers) queryRow(i int, dest any, sql string, db ...string) {
	r.t.Helper()
	ctx := context.Background()
	dsn := r.DSN(i)
	if len(db) > 0 {
		dsn = strings.Replace(dsn, "/postgres?", "/"+db[0]+"?", 1)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql).Scan(dest); err != nil {
		r.t.Fatalf("%s: %v", sql, err)
	}
}

// createDatabase creates database name on the primary and returns its DSN
// there. It is dropped with the servers.
func (r *localServers) createDatabase(name string) string {
	r.t.Helper()
	r.exec(0, `CREATE DATABASE `+name)
	return strings.Replace(r.DSN(0), "/postgres?", "/"+name+"?", 1)
}

// exec runs sql on server i.
func (r *localServers) exec(i int, sql string) {
	r.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.DSN(i))
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		r.t.Fatalf("%s: %v", sql, err)
	}
}

// pg runs the server program name as the server's user.
func (r *localServers) pg(name string, args ...string) {
	r.t.Helper()
	argv := append(append(append([]string{}, r.asUser...), filepath.Join(r.bin, name)), args...)
	run(r.t, argv[0], argv[1:]...)
}

// stopAll stops whichever server still runs and removes the directory.
func (r *localServers) stopAll() {
	for i := range r.ports {
		if _, err := os.Stat(filepath.Join(r.data(i), "postmaster.pid")); err == nil {
			argv := append(append([]string{}, r.asUser...), filepath.Join(r.bin, "pg_ctl"), "-D", r.data(i), "-w", "-m", "immediate", "stop")
			_ = exec.Command(argv[0], argv[1:]...).Run()
		}
	}
	if r.t.Failed() {
		for i := range r.ports {
			if log, err := os.ReadFile(r.data(i) + ".log"); err == nil {
				if len(log) > 3000 {
					log = log[len(log)-3000:]
				}
				r.t.Logf("server %d's log:\n%s", i, log)
			}
		}
	}
	_ = os.RemoveAll(r.dir)
}
