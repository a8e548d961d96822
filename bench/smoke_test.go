package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gue-go/gue/conformance"
)

func TestMain(m *testing.M) {
	code := m.Run()
	conformance.Terminate()
	os.Exit(code)
}

// TestSmoke runs every system through every phase with tiny numbers, so the
// bench command keeps working; it measures nothing worth reading.
func TestSmoke(t *testing.T) {
	admin := conformance.ServerDSN(t)
	systems := []system{
		&gueGo{name: "gue-go", workers: 4, poll: 5 * time.Millisecond},
		&gueGo{name: "gue-go batch", workers: 4, batch: 2, poll: 5 * time.Millisecond},
		&riverSystem{workers: 4, cooldown: time.Millisecond, pollEvery: 10 * time.Millisecond},
		&riverSystem{workers: 2000, own: true, cooldown: 2 * time.Millisecond, pollEvery: 20 * time.Millisecond},
		&gueV5{workers: 4},
	}
	var results []result
	for _, s := range systems {
		r, err := measure(context.Background(), admin, s, 300, 4, 500*time.Millisecond, 3)
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		if r.enqueue <= 0 || r.drain <= 0 || r.cont <= 0 || r.p50 <= 0 || r.p99 < r.p50 {
			t.Errorf("%s: implausible result %+v", s.Name(), r)
		}
		results = append(results, r)
	}
	for _, s := range []system{
		&limit{name: "raw SQL limit: default mode's statements", clients: 4, perStatement: 1},
		&limit{name: "raw SQL limit: DELETE … LIMIT", clients: 2, perStatement: 50},
	} {
		r, err := measure(context.Background(), admin, s, 300, 4, 500*time.Millisecond, 3)
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		if r.drain <= 0 || r.cont != 0 {
			t.Errorf("%s: want a work-down rate only, got %+v", s.Name(), r)
		}
		results = append(results, r)
	}
	report(testWriter{t}, results, 300, 4, 500*time.Millisecond)
	e, err := measureEnqueue(context.Background(), admin, 4, 200*time.Millisecond)
	if err != nil || e.ready <= 0 || e.future <= 0 {
		t.Errorf("concurrent enqueue rates %+v, %v", e, err)
	}
	if err := measureSweep(context.Background(), testWriter{t}, admin, []int{1, 3}, 5, 300); err != nil {
		t.Error(err)
	}
	var prs []producerResult
	for key, s := range producerSystems(3, 5) {
		r, err := measureProducer(context.Background(), admin, s, 3, 50, 100*time.Millisecond, 300*time.Millisecond)
		if err != nil {
			t.Fatalf("producer, %s: %v", key, err)
		}
		if r.rate <= 0 || r.enq <= 0 {
			t.Errorf("producer, %s: implausible result %+v", key, r)
		}
		prs = append(prs, r)
	}
	reportProducer(testWriter{t}, prs, 50, 300*time.Millisecond)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// TestLocalServer starts and stops the loopback server the bench prefers,
// where this machine has PostgreSQL's server binaries.
func TestLocalServer(t *testing.T) {
	bin := findServerBin()
	if bin == "" {
		t.Skip("no PostgreSQL server binaries in /usr/lib/postgresql")
	}
	ctx := context.Background()
	s, dsn, err := startLocalServer(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := newDatabase(ctx, dsn, 2)
	if err != nil {
		s.stop()
		t.Fatal(err)
	}
	var fsync string
	err = pool.QueryRow(ctx, `SHOW fsync`).Scan(&fsync)
	pool.Close()
	s.stop()
	if err != nil || fsync != "on" {
		t.Errorf("SHOW fsync = %q, %v; want on (default settings)", fsync, err)
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("server directory %s left behind: %v", s.dir, err)
	}
}

// TestVacuum: a job held by an open transaction (the default and batch
// modes) keeps VACUUM from removing any of the application's dead rows,
// the control that the measurement can see them; a job held by a session
// lock (session mode) or by its row's state (River) keeps none.
func TestVacuum(t *testing.T) {
	admin := conformance.ServerDSN(t)
	var rs []vacuumResult
	for _, key := range []string{"gue-go", "gue-go-batch", "gue-go-session", "river-own"} {
		h := newJobHold()
		r, err := measureVacuum(context.Background(), admin, vacuumSystems(h, 5)[key], h, time.Second)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		held := key == "gue-go" || key == "gue-go-batch"
		if r.updated != vacuumRows*vacuumRounds || held && r.deadLeft != r.updated || !held && r.deadLeft != 0 {
			t.Errorf("%s: %d rows updated, %d dead rows left; want %d updated and %v", key, r.updated, r.deadLeft,
				vacuumRows*vacuumRounds, map[bool]string{true: "all left", false: "none left"}[held])
		}
		rs = append(rs, r)
	}
	reportVacuum(testWriter{t}, rs, time.Second)
}

// TestPressure runs both kinds of pressure briefly: the pool keeps working
// before, during and after each, and the figures are read. Its server is
// one of the machine's binaries with pg_stat_statements loaded, for the
// lock statements' cost; the test server, which has not loaded it, is the
// control that a server without it is told apart (no figures, a reason).
func TestPressure(t *testing.T) {
	bin := findServerBin()
	if bin == "" || !lockStatsAvailable(bin) {
		t.Skip("no PostgreSQL server binaries with pg_stat_statements in /usr/lib/postgresql")
	}
	ctx := context.Background()
	s, admin, err := startLocalServer(ctx, bin, lockStatsPreload)
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	var rs []pressureResult
	for _, kind := range []string{"holder", "readers"} {
		r, err := measurePressure(ctx, admin, producerSystems(4, 5)["gue-go"], kind, 4, 50, 500*time.Millisecond, 1500*time.Millisecond)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if r.before <= 0 || r.during <= 0 || r.after <= 0 || r.dead < 0 {
			t.Errorf("%s: implausible result %+v", kind, r)
		}
		// Pickups: gue-go tells its jobs' enqueue times; a job waits at
		// least the time its insert took to commit, and not for minutes.
		for i, p := range r.pickup {
			if !r.timed || p <= 0 || p > time.Minute {
				t.Errorf("%s: pickup p99 of phase %d is %s (timed: %v); want a latency", kind, i, p, r.timed)
			}
		}
		// The default mode takes each job with a lock statement of its own
		// (and a miss costs one more), so a reading that left some of its
		// statements out would count fewer than the jobs.
		if r.lockErr != nil {
			t.Errorf("%s: no lock figures: %v", kind, r.lockErr)
		}
		for i, l := range r.lock {
			if l.jobs <= 0 || l.calls < l.jobs*9/10 || l.ms <= 0 {
				t.Errorf("%s: phase %d: %d lock statements taking %.3f ms for %d jobs; want one a job at least, and time", kind, i, l.calls, l.ms, l.jobs)
			}
		}
		rs = append(rs, r)
	}
	reportPressure(testWriter{t}, rs, 4, 50, 500*time.Millisecond, 1500*time.Millisecond)

	// The control: a server that has not loaded pg_stat_statements.
	pool, err := newDatabase(ctx, conformance.ServerDSN(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var preload string
	if err := pool.QueryRow(ctx, `SHOW shared_preload_libraries`).Scan(&preload); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(preload, "pg_stat_statements") {
		t.Logf("the test server loads pg_stat_statements (%q): no control", preload)
		return
	}
	if err := enableLockStats(ctx, pool); !errors.Is(err, errNoLockStats) {
		t.Errorf("lock figures on a server without pg_stat_statements: %v; want %v", err, errNoLockStats)
	}
}
