package reliability_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gue-go/gue/conformance"
)

// Scenario 7 (issue 32, item 2): a network partition. Two worker processes
// run in a network namespace of their own, joined to the database by a
// veth link; a third runs beside the database. Mid-run every packet in
// and out of the namespace is dropped for partitionFor, then the link
// heals. Nothing is closed: each side has to notice the silence itself.
//
//   - The workers in the namespace give a silent peer up after 3 s
//     (gue-testworker -tcp-timeout: TCP_USER_TIMEOUT and keepalives, set
//     through pgx's DialFunc; Go's own defaults are keepalives after 15 s
//     idle, 9 probes 15 s apart, and no user timeout, so a connection
//     waiting for a reply would wait for TCP's retransmissions, about 15
//     minutes). Their pools log the outage once and resume after the heal.
//   - The server gives a silent client up after 5 to 7 s (tcp_user_timeout
//     5 s for a connection it is sending to, tcp_keepalives_idle 4 s and 3
//     probes 1 s apart for an idle one; PostgreSQL's defaults are the
//     system's: no user timeout, keepalives after 2 hours): its backend
//     ends and the jobs it held (a transaction's row locks, or a
//     session-mode lock connection's advisory locks) go back to the queue,
//     for the worker outside to run. Without these settings they wait for
//     the heal.
//
// Must hold: nothing lost or doubled, no job run more than twice (once cut
// off, once again), the workers inside started nothing during the
// partition (the control that it cut them off), and they work again after
// the heal.
func TestNetworkPartition(t *testing.T) {
	t.Parallel() // beside TestExactlyOnceWithoutCrashes (see the package doc)
	if conformance.Citus() {
		t.Skip("the partition is between workers and one plain server")
	}
	// All at once (atOnce): each has a namespace, a server and workers of
	// its own, and most of its time is the partition, with the machine
	// idle: about 40 s instead of 75-80 s one after another.
	atOnce(t, eachMode(testNetworkPartition)...)
}

// partitionFor is how long the partition lasts: 30 s, as the issue asks,
// or 10 s with -short.
func partitionFor() time.Duration {
	if testing.Short() {
		return 10 * time.Second
	}
	return 30 * time.Second
}

func testNetworkPartition(t *testing.T, m mode) {
	const inside, workersPerProc, jobs, more = 2, 4, 4000, 2000
	ns := newNetns(t)
	srv := newLocalServers(t)
	srv.initPrimary(fmt.Sprintf("listen_addresses = '127.0.0.1,%s'\n"+
		"tcp_keepalives_idle = 4\ntcp_keepalives_interval = 1\ntcp_keepalives_count = 3\ntcp_user_timeout = 5000\n", ns.hostIP))
	srv.allowHosts("10.231.0.0/16")
	d := prepareDatabase(t, &database{t: t, dsn: srv.createDatabase("gue_partition"), ctx: context.Background()})
	d.enqueue("", jobs)
	remote := strings.Replace(d.dsn, fmt.Sprintf("127.0.0.1:%d", srv.ports[0]), fmt.Sprintf("%s:%d", ns.hostIP, srv.ports[0]), 1)
	args := m.args("-workers", strconv.Itoa(workersPerProc), "-sleep", "20ms", "-tcp-timeout", "3s")
	var cut []*worker
	for range inside {
		cut = append(cut, startWorkerIn(t, ns.exec(), remote, args...))
	}
	for d.count(`SELECT count(*) FROM results`) < jobs/10 {
		time.Sleep(50 * time.Millisecond)
	}
	// Session mode: jobs in flight when the lock connection is lost, so
	// that every run shows the ordering. With 20 ms jobs alone the
	// partition often came while each worker inside waited for its lock
	// statement with no job running. These run 20 s (gue-testworker
	// -hold), first in the queue; the partition starts once all have begun.
	holds := 0
	if m.session {
		holds = 2 * inside
		d.exec(`INSERT INTO gue_jobs (queue, job_type, priority) SELECT '', 'hold', -1 FROM generate_series(1, $1::int)`, holds)
		for d.count(`SELECT count(DISTINCT job_id) FROM attempts WHERE job_id > $1`, jobs) < int64(holds) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	outside := startWorker(t, d.dsn, args...)
	ns.partition()
	partitioned := time.Now()
	time.Sleep(partitionFor()) // the partition itself
	ns.heal()
	healed := time.Now()
	// Started by a worker inside while cut off: none (a second's grace for
	// the packets already on their way).
	var pids []string
	for _, w := range cut {
		pids = append(pids, strconv.Itoa(w.cmd.Process.Pid))
	}
	inPids := "{" + strings.Join(pids, ",") + "}"
	if n := d.count(`SELECT count(*) FROM attempts WHERE pid = ANY($1::int[]) AND at > $2 AND at < $3`,
		inPids, partitioned.Add(time.Second), healed); n != 0 {
		t.Errorf("the workers inside started %d jobs while cut off: the partition did not cut them off", n)
	}
	outsideDuring := d.count(`SELECT count(*) FROM attempts WHERE pid = $1 AND at > $2 AND at < $3`, outside.cmd.Process.Pid, partitioned, healed)
	// The worker outside may have worked the queue down meanwhile: more
	// jobs, for the workers inside to show they work again.
	d.enqueue("", more)
	// The workers inside work again: a job of theirs started after the heal.
	deadline := time.Now().Add(stallLimit)
	for d.count(`SELECT count(*) FROM attempts WHERE pid = ANY($1::int[]) AND at > $2`, inPids, healed) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the workers inside started no job within %s of the heal", stallLimit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resumed := time.Since(healed)
	o := d.drainAndStop(t, append(cut, outside), "in the partition", jobs+holds+more)
	if most := d.count(`SELECT COALESCE(max(n), 0) FROM (SELECT count(*) AS n FROM attempts GROUP BY job_id) x`); most > 2 {
		t.Errorf("a job ran %d times; a partition may cut one run off, so twice at most", most)
	}
	// Each worker inside noticed the cut, and logged it without a line per
	// retry: at most a job's failure and its unrecorded ending per job in
	// flight, and one line each for its LISTEN, its registry, its lock
	// queries and its lock connection.
	var logged []string
	for i, w := range cut {
		n := len(errorLine.FindAllString(w.out.String(), -1))
		if n == 0 {
			t.Errorf("worker %d inside logged no error in a %s partition", i, partitionFor())
		}
		if limit := 2*workersPerProc*max(m.batch, 1) + 6; n > limit {
			t.Errorf("worker %d inside logged %d errors in a %s partition; at most %d: the outage is logged once", i, n, partitionFor(), limit)
		}
		logged = append(logged, strconv.Itoa(n))
	}
	ordering := ""
	if m.session {
		ordering = "; " + sessionLossOrdering(t, d, cut, jobs, holds)
	}
	t.Logf("%s mode: %s partition; the worker outside started %d jobs meanwhile; the workers inside started again %s after the heal (error lines: %s); %s%s",
		m.name, partitionFor(), outsideDuring, resumed.Round(time.Millisecond), strings.Join(logged, ", "), o, ordering)
}

// allowHosts lets clients of the address range cidr connect to server 0
// (initdb's rules admit loopback only).
func (r *localServers) allowHosts(cidr string) {
	r.t.Helper()
	f, err := os.OpenFile(filepath.Join(r.data(0), "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	_, err = f.WriteString("host all all " + cidr + " trust\n")
	f.Close()
	if err != nil {
		r.t.Fatal(err)
	}
	r.exec(0, `SELECT pg_reload_conf()`)
}

// errorLine matches the start of a worker's log line at level error.
var errorLine = regexp.MustCompile(`\] [0-9:.]+ error `)

// sessionLossOrdering checks, for each session-mode worker cut off, that it
// gave its lock connection up (and cancelled its running jobs) before any
// other worker started one of the jobs it was running: the client notices
// a silent peer after 3 s, the server after about 7 s, and only then are
// the locks released. The holds jobs after the first jobs, which ran
// long, must be among those cancelled (the control that the check sees
// jobs in flight). It returns the margins.
func sessionLossOrdering(t *testing.T, d *database, cut []*worker, jobs, holds int) string {
	t.Helper()
	var margins []string
	cancelled := map[string]bool{}
	defer func() {
		for id := jobs + 1; id <= jobs+holds; id++ {
			if !cancelled[strconv.Itoa(id)] {
				t.Errorf("job %d ran through the loss of the lock connection inside, not cancelled", id)
			}
		}
	}()
	for i, w := range cut {
		var lostAt time.Time
		var ids []string
		for _, line := range strings.Split(w.out.String(), "\n") {
			switch {
			case strings.Contains(line, "session mode: lost the lock connection"):
				if lostAt.IsZero() {
					lostAt = logTime(t, line)
				}
			case strings.Contains(line, "error job failed"):
				// Failed before the loss (its connection gave up
				// first), its failure not recorded: its lock held on.
				if _, rest, ok := strings.Cut(line, "job-id="); ok {
					id, _, _ := strings.Cut(rest, " ")
					ids = append(ids, id)
				}
			case strings.HasPrefix(line, "lock lost "):
				// Cancelled by the loss (gue-testworker's line: the
				// pool logs it at debug level).
				id := strings.TrimPrefix(line, "lock lost ")
				ids = append(ids, id)
				cancelled[id] = true
			}
		}
		if lostAt.IsZero() {
			t.Errorf("worker %d inside never logged the loss of its lock connection", i)
			continue
		}
		if len(ids) == 0 {
			margins = append(margins, "no job in flight")
			continue
		}
		var next *time.Time
		if err := d.pool.QueryRow(d.ctx, `SELECT min(at) FROM attempts WHERE job_id = ANY($1::bigint[]) AND pid <> $2`,
			"{"+strings.Join(ids, ",")+"}", w.cmd.Process.Pid).Scan(&next); err != nil {
			t.Fatal(err)
		}
		if next == nil {
			t.Errorf("the %d jobs worker %d was running when cut off never ran elsewhere", len(ids), i)
			continue
		}
		if !next.After(lostAt) {
			t.Errorf("another worker started a job of worker %d at %s, before worker %d gave its lock connection up at %s",
				i, next.Format(time.StampMicro), i, lostAt.Format(time.StampMicro))
		}
		margins = append(margins, fmt.Sprintf("%d jobs cancelled %s before another worker began them", len(ids), next.Sub(lostAt).Round(time.Millisecond)))
	}
	return "lock connection lost: " + strings.Join(margins, ", ")
}

// logTime is the time of a worker's log line ("[worker PID] 15:04:05.000000
// ..."), today's.
func logTime(t *testing.T, line string) time.Time {
	t.Helper()
	_, rest, _ := strings.Cut(line, "] ")
	clock, _, _ := strings.Cut(rest, " ")
	c, err := time.ParseInLocation("15:04:05.000000", clock, time.Local)
	if err != nil {
		t.Fatalf("the time of log line %q: %v", line, err)
	}
	now := time.Now()
	return time.Date(now.Year(), now.Month(), now.Day(), c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), time.Local)
}
