package reliability_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gue-go/gue/conformance"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Scenario 6 (issue 32, item 1): the primary is lost mid-run and its
// streaming standby is promoted, as a managed database fails over. The
// workers name both servers in their DSN with target_session_attrs =
// read-write and find the new primary by themselves.
//
// What may run again: the jobs in flight at the crash (their transactions
// die with the primary), and, with asynchronous replication (PostgreSQL's
// default), jobs whose completion the old primary acknowledged but had not
// yet sent to the standby: those come back on the new primary and run
// again. The standby is cut off for up to a second before the crash (as
// over a link that broke), so that there are such completions to lose. A
// worker process prints "acked <ID>" for each completion it was told of
// (the default mode: the job's own transaction committed), so a job
// acknowledged twice is such a lost completion: some in the asynchronous
// case (the control that the count can see them), none with a synchronous
// standby and synchronous completion. The old primary is started on its
// own afterwards to count the completions it had that the standby did not.
// (In batch and session mode a completion is not told to the handler's
// hooks, so only those counts are reported.)
//
// Every job writes its result through j.Tx(), in the transaction that
// ends it: a result is never committed twice, whatever is lost.
func TestFailover(t *testing.T) {
	if conformance.Citus() {
		t.Skip("a Citus coordinator's failover is Citus's own matter: this promotes a plain standby")
	}
	// At once (atOnce): each scenario has a pair of servers of its own.
	// One after another they took 93-105 s with the machine about 17 %
	// idle, and lib/pq's alone 42 s.
	atOnce(t, append(eachMode(func(t *testing.T, m mode) { testFailover(t, m, false, "pgxv5") }),
		subtest{"default/synchronous", func(t *testing.T) { testFailover(t, modes[0], true, "pgxv5") }},
		// lib/pq takes both hosts and target_session_attrs since 1.11, in
		// its key=value form.
		subtest{"default/libpq", func(t *testing.T) { testFailover(t, modes[0], false, "libpq") }},
	)...)
}

func testFailover(t *testing.T, m mode, synchronous bool, driver string) {
	const procs, workersPerProc, jobs = 2, 8, 10_000
	pair := startReplicaPair(t, synchronous)
	d := prepareDatabase(t, &database{t: t, dsn: pair.createDatabase("gue_failover"), ctx: context.Background()})
	d.enqueue("", jobs)
	pair.caughtUp() // the jobs themselves are on both servers
	dsn := pair.multiHost(d.dsn)
	workerDSN := dsn
	if driver == "libpq" {
		workerDSN = fmt.Sprintf("host=127.0.0.1,127.0.0.1 port=%d,%d user=postgres dbname=gue_failover sslmode=disable target_session_attrs=read-write",
			pair.ports[0], pair.ports[1])
	}
	args := m.args("-workers", strconv.Itoa(workersPerProc), "-sleep", "2ms", "-driver", driver)
	acks := m.batch == 0 && !m.session // see the comment above
	if acks {
		args = append(args, "-acked")
	}
	if synchronous {
		args = append(args, "-sync-completion")
	}
	ws := make([]*worker, procs)
	for i := range ws {
		ws[i] = startWorker(t, workerDSN, args...)
	}
	for d.count(`SELECT count(*) FROM results`) < jobs/5 {
		time.Sleep(50 * time.Millisecond)
	}
	// The standby falls behind before the crash: it is cut off while the
	// workers go on, for 200 more results or a second (with a synchronous
	// standby, no commit can end meanwhile).
	pair.cutStandby()
	behind := d.count(`SELECT count(*) FROM results`)
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) && d.count(`SELECT count(*) FROM results`) < behind+200; {
		time.Sleep(10 * time.Millisecond)
	}
	crashed := time.Now()
	pair.crashPrimary()
	pair.promote()
	promoted := time.Now()
	// The test's own connections were to the old primary.
	d.pool.Close()
	var err error
	if d.pool, err = pgxpool.New(context.Background(), dsn); err != nil {
		t.Fatal(err)
	}
	resumed := waitForResultAfter(t, d, promoted)
	o := d.drainAndStop(t, ws, "with the primary", jobs)
	// Completions the old primary committed and the standby never got:
	// the old primary's results against those the new one had from
	// before the crash. The old primary is started on its own for it, once
	// nothing connects to the pair's DSN any more.
	replicated := d.count(`SELECT count(*) FROM results WHERE done_at <= $1`, crashed)
	d.pool.Close()
	pair.start(0)
	var onOld int64
	pair.queryRow(0, &onOld, `SELECT count(*) FROM results`, "gue_failover")
	lostCommits := onOld - replicated
	ackedTwice := int64(0)
	if acks {
		seen := map[string]int{}
		for _, w := range ws {
			for _, line := range strings.Split(w.out.String(), "\n") {
				if id, ok := strings.CutPrefix(line, "acked "); ok {
					seen[id]++
				}
			}
		}
		// Every job but those whose commit the crash cut off (done, as
		// the standby had it, but never acknowledged).
		if inFlight := procs * workersPerProc; len(seen) < jobs-inFlight {
			t.Errorf("%d jobs acknowledged; want all %d but at most the %d in flight at the crash", len(seen), jobs, inFlight)
		}
		for _, n := range seen {
			if n > 1 {
				ackedTwice++
			}
		}
		if ackedTwice > lostCommits {
			t.Errorf("%d jobs acknowledged twice, but only %d completions committed on the old primary were lost", ackedTwice, lostCommits)
		}
		if !synchronous && ackedTwice == 0 {
			t.Error("no job acknowledged as done ran again, though the standby missed the primary's last commits: the count cannot see a lost completion")
		}
		if synchronous && ackedTwice > 0 {
			t.Errorf("%d jobs acknowledged as done ran again after the failover, with a synchronous standby and synchronous completion; want none", ackedTwice)
		}
	}
	// A job runs again only if it was in flight at the crash (each worker
	// holds one job, or one batch) or its completion was lost with the old
	// primary.
	if limit := int64(procs*workersPerProc)*int64(max(m.batch, 1)) + lostCommits; o.reexecuted > limit {
		t.Errorf("%d re-executions after one failover with %d processes of %d workers and %d completions lost with the old primary; at most %d can be explained",
			o.reexecuted, procs, workersPerProc, lostCommits, limit)
	}
	t.Logf("%s mode (%s), %s standby: the primary crashed, the standby promoted in %s; resumed %s after the promotion; %s; completions lost with the old primary: %d, of them acknowledged to a worker: %s",
		m.name, driver, map[bool]string{false: "an asynchronous", true: "a synchronous"}[synchronous], promoted.Sub(crashed).Round(time.Millisecond),
		resumed.Round(time.Millisecond), o, lostCommits, map[bool]string{false: "not counted in this mode", true: strconv.FormatInt(ackedTwice, 10)}[acks])
}
