package reliability_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/gue-go/gue/conformance"
)

// Scenario: three processes declare the same schedule, every second, for
// ten seconds; one is SIGKILLed mid-way and started again. Each tick of the
// window has one job, and no tick two, with no leader among the processes.
// The window is the scenario's own length, not a deadline: ticks are
// counted by their recorded time, so a slow machine changes nothing.
func TestPeriodicOnePerTickAcrossProcesses(t *testing.T) {
	d := newDatabase(t, conformance.ServerDSN(t))
	d.exec(`CREATE TABLE ticks (tick text NOT NULL, job_id bigint NOT NULL, pid int NOT NULL)`)
	args := []string{"-workers", "2", "-periodic", "1s", "-queue", "ticks"}
	ws := make([]*worker, 3)
	for i := range ws {
		ws[i] = startWorker(t, d.dsn, args...)
	}
	for _, w := range ws {
		w.waitOutput(t, "started")
	}
	var from time.Time
	if err := d.pool.QueryRow(d.ctx, `SELECT now()`).Scan(&from); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second) // the scenario's first part
	ws[1].signal(syscall.SIGKILL)
	_ = ws[1].wait(t, time.Minute)
	ws[1] = startWorker(t, d.dsn, args...)
	time.Sleep(6 * time.Second) // the rest of the ten seconds
	to := from.Add(10 * time.Second)
	// The window's last tick must have been decided (and worked) before
	// counting: wait for a tick after it (the database is the only signal).
	for stalled := time.Now().Add(stallLimit); d.count(`SELECT count(*) FROM ticks WHERE tick::timestamptz > $1`, to) == 0; {
		if time.Now().After(stalled) {
			t.Fatalf("no tick worked in the %s after the window", stallLimit)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, w := range ws {
		w.stop(t)
	}
	in := d.count(`SELECT count(*) FROM ticks WHERE tick::timestamptz > $1 AND tick::timestamptz <= $2`, from, to)
	if in < 9 || in > 11 {
		t.Errorf("%d jobs for the ten one-second ticks of the window; want 9 to 11", in)
	}
	if dups := d.count(`SELECT count(*) - count(DISTINCT tick) FROM ticks`); dups != 0 {
		t.Errorf("%d ticks had more than one job", dups)
	}
	if left := d.count(`SELECT count(*) FROM gue_jobs`); left > 1 {
		t.Errorf("%d periodic jobs left unworked", left)
	}
	pids := d.count(`SELECT count(DISTINCT pid) FROM ticks`)
	t.Logf("%d jobs in the 10 s window (%d ticks in all, worked by %d processes), one SIGKILL and restart mid-way",
		in, d.count(`SELECT count(*) FROM ticks`), pids)
}
