package main

import (
	"context"
	"os"
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
// before, during and after each, and the figures are read.
func TestPressure(t *testing.T) {
	admin := conformance.ServerDSN(t)
	var rs []pressureResult
	for _, kind := range []string{"holder", "readers"} {
		r, err := measurePressure(context.Background(), admin, producerSystems(4, 5)["gue-go"], kind, 4, 50, 500*time.Millisecond, 1500*time.Millisecond)
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
		rs = append(rs, r)
	}
	reportPressure(testWriter{t}, rs, 4, 50, 500*time.Millisecond, 1500*time.Millisecond)
}
