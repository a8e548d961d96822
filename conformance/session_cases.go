package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// sessionCases is the suite's Session group: pools in session mode
// (gue.WithPoolSessionLocks), for adapters that implement adapter.Sessioner.
var sessionCases = []testCase{
	{"ManyJobsNoTransaction", testSessionManyJobsNoTransaction},
	{"ManyJobsFewConnections", testSessionManyJobsFewConnections},
	{"TakesOnlyTheLocksItRuns", testSessionTakesOnlyTheLocksItRuns},
	{"LocksAhead", testSessionLocksAhead},
	{"WorkerFreeWhileItsJobEnds", testSessionHandOn},
	{"LongJobLetsVacuumClean", testSessionLongJobVacuum},
	{"TxCommitsWithSuccessRollsBackWithFailure", testSessionTx},
	{"ExactlyOnce", testSessionExactlyOnce},
	{"DeleteAndTxInEitherOrder", testSessionDeleteAndTx},
	{"LockLostCancelsAndRunsAgain", testSessionLockLost},
	{"LockLostBeforeTheJobStarts", testSessionLostBeforeStart},
	{"EndingProvesTheLock", testSessionEndingProvesTheLock},
	{"HeldJobMovedRunsOnce", testSessionHeldJobMovedRunsOnce},
	{"CancelRunning", testSessionCancelRunning},
	{"EveryEnding", testSessionEveryEnding},
	{"PauseStopsLocking", testSessionPause},
	{"SeveralQueues", testSessionSeveralQueues},
	{"Refusals", testSessionRefusals},
	{"NotOneSessionRefused", testSessionNotOneSession},
	{"OtherRoleRefused", testSessionOtherRole},
	{"TransactionPoolerRefused", testSessionTransactionPooler},
	{"StopCutsNoStatement", testSessionStopCutsNoStatement},
	{"LoadProbesItsJobsOnly", testSessionLoadProbesItsJobsOnly},
	{"EndsProbeTheirJobsOnly", testSessionEndsProbeTheirJobsOnly},
	{"BurstOfEndsProbes", testSessionBurstOfEndsProbes},
}

// needSessionMode skips t unless the adapter can hold a lock connection
// and the pools reach PostgreSQL directly (on Citus, session mode refuses:
// see testSessionRefusals).
func needSessionMode(t *testing.T, e *env) {
	t.Helper()
	need[adapter.Sessioner](t, e, capSession)
	e.needSession(t, "session locks need one server session")
	if Citus() {
		t.Skip("session mode refuses Citus (advisory locks are per node)")
	}
}

// sessionPool is a pool of n in session mode on queue, polling often.
func sessionPool(c *gue.Client, wm gue.WorkMap, n int, queue string, opts ...gue.WorkerPoolOption) *gue.WorkerPool {
	return gue.NewWorkerPool(c, wm, n, append([]gue.WorkerPoolOption{gue.WithPoolQueue(queue),
		gue.WithPoolSessionLocks(true), gue.WithPoolPollInterval(20 * time.Millisecond)}, opts...)...)
}

// holders counts the other backends of the test's database that hold one
// transaction across a window of 300 ms, idle in transaction or with a
// transaction ID: what holds back VACUUM while a job runs. A transaction
// seen only once is a short statement (a pool's lock statement, the
// registry's heartbeat) and is not counted: it ends by itself.
func (e *env) holders() int64 {
	e.t.Helper()
	sample := func() map[string]bool {
		var list string
		if err := e.pool.QueryRow(e.ctx, `SELECT COALESCE(string_agg(pid::text || '@' || xact_start::text, ','), '')
  FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND (backend_xid IS NOT NULL OR state LIKE 'idle in transaction%')`).Scan(&list); err != nil {
			e.t.Fatalf("holders: %v", err)
		}
		seen := map[string]bool{}
		for _, s := range strings.Split(list, ",") {
			if s != "" {
				seen[s] = true
			}
		}
		return seen
	}
	first := sample()
	time.Sleep(300 * time.Millisecond) // the window a transaction must last to count
	var n int64
	for s := range sample() {
		if first[s] {
			n++
		}
	}
	return n
}

// terminateLockHolders ends the backends that hold advisory locks in the
// test's database (the pools' lock connections) and counts them.
const terminateLockHolders = `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_locks
  WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) x`

// advisoryLocks counts the advisory locks held in the test's database.
func (e *env) advisoryLocks() int64 {
	return e.count(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
}

// 150 jobs run at once on a pool of 200, while no backend of the database
// holds a transaction and the connections stay few. Control: the default
// mode's running jobs each hold a transaction.
func testSessionManyJobsNoTransaction(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	const total = 150
	for range total {
		e.enqueue(c, &gue.Job{Type: "t", Queue: "many"})
	}
	var started atomic.Int32
	release := make(chan struct{})
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		started.Add(1)
		select {
		case <-release:
		case <-j.Context().Done(): // a failed test's stop
		}
		return nil
	}}
	stop := startPool(t, sessionPool(c, wm, 200, "many"))
	waitFor(t, fmt.Sprintf("%d jobs running at once", total), func() bool { return started.Load() == total })
	if n := e.holders(); n != 0 {
		t.Errorf("%d backends hold a transaction while %d jobs run in session mode, want 0", n, total)
	}
	if n := e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()`); n >= total/5 {
		t.Errorf("%d connections for %d jobs in flight", n, total)
	}
	if n := e.advisoryLocks(); n != total {
		t.Errorf("%d advisory locks held, want one per running job (%d)", n, total)
	}
	close(release)
	waitFor(t, "the queue worked down", func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'many'`) == 0
	})
	waitFor(t, "every lock given back", func() bool {
		return e.advisoryLocks() == 0
	})
	stop()

	// Control: the default mode's jobs hold their transactions.
	for range 2 {
		e.enqueue(c, &gue.Job{Type: "t", Queue: "control"})
	}
	started.Store(0)
	release = make(chan struct{})
	stop = startPool(t, gue.NewWorkerPool(c, wm, 2, gue.WithPoolQueue("control"),
		gue.WithPoolPollInterval(20*time.Millisecond), gue.WithPoolListen(false)))
	defer stop()
	waitFor(t, "2 jobs running in the default mode", func() bool { return started.Load() == 2 })
	if n := e.holders(); n < 2 {
		t.Errorf("control: %d backends hold a transaction while 2 jobs run in the default mode, want >= 2", n)
	}
	close(release)
}

// A pool of 50 in session mode, with 120 ready jobs at three priorities,
// holds exactly the locks of the 50 jobs it runs, the first 50 in the
// queue's order: the lock statement's scans take no lock past the ones
// it returns, also where the scan of one priority ends and the next one's
// begins. (Control: without the lock statement's LIMITs, 50 jobs run and
// 120 locks are held.)
func testSessionTakesOnlyTheLocksItRuns(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	for _, prio := range []int16{1, 2, 3} {
		for range 40 {
			e.enqueue(c, &gue.Job{Type: "t", Queue: "few", Priority: prio})
		}
	}
	var mu sync.Mutex
	started := map[int16]int{}
	var n atomic.Int32
	release := make(chan struct{})
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		mu.Lock()
		started[j.Priority]++
		mu.Unlock()
		n.Add(1)
		select {
		case <-release:
		case <-j.Context().Done():
		}
		return nil
	}}
	stop := startPool(t, sessionPool(c, wm, 50, "few"))
	waitFor(t, "50 jobs running", func() bool { return n.Load() == 50 })
	if got := e.advisoryLocks(); got != 50 {
		t.Errorf("%d advisory locks held while 50 jobs run, want 50", got)
	}
	mu.Lock()
	if started[1] != 40 || started[2] != 10 || started[3] != 0 {
		t.Errorf("jobs started by priority: %v, want 40 of 1 and 10 of 2", started)
	}
	mu.Unlock()
	close(release)
	waitFor(t, "the queue worked down", func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'few'`) == 0
	})
	stop()
	if got := e.advisoryLocks(); got != 0 {
		t.Errorf("%d advisory locks held after the pool stopped, want 0", got)
	}
}

// 400 jobs of 250 ms on a pool of 200 in session mode: all done, at least
// 100 at once, on at most 6 server connections at any moment (the lock
// connection, the grouped deletions and the pool's own statements). The
// default mode would need one connection per running job.
func testSessionManyJobsFewConnections(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	const total, pool, maxConns = 400, 200, 6
	jobs := make([]*gue.Job, total)
	for i := range jobs {
		jobs[i] = &gue.Job{Type: "t", Queue: "few"}
	}
	if err := c.EnqueueBatch(e.ctx, jobs); err != nil {
		t.Fatal(err)
	}
	var now, peak atomic.Int32
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		n := now.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(250 * time.Millisecond) // the job's work: waiting on something else
		now.Add(-1)
		return nil
	}}
	// Every server connection of the test's database but the one asking
	// (the pool shares the env's connection pool with the test).
	conns := func() int64 {
		return e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	}
	start := time.Now()
	stop := startPool(t, sessionPool(c, wm, pool, "few"))
	var most int64
	waitFor(t, "the queue worked down", func() bool {
		most = max(most, conns())
		return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'few'`) == 0
	})
	took := time.Since(start)
	stop()
	t.Logf("%d jobs of 250 ms on a pool of %d: %v (%.0f jobs/s), %d at once at most, %d other server connections at most",
		total, pool, took.Round(time.Millisecond), total/took.Seconds(), peak.Load(), most)
	if p := peak.Load(); p < 100 {
		t.Errorf("%d jobs ran at once at most, want >= 100", p)
	}
	if most > maxConns {
		t.Errorf("%d server connections at once for the pool, want <= %d", most, maxConns)
	}
	if most == 0 { // the control that the sampling sees the pool's connections at all
		t.Errorf("no connection of the pool seen while it worked")
	}
}

// startPool starts p; the returned stop (also run at the test's end, where
// it does nothing the second time) stops it and waits for Run to return.
// Jobs blocked in their handlers must be let go before stop.
func startPool(t *testing.T, p *gue.WorkerPool) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-stopped; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// While a job runs in session mode, VACUUM of an application table that
// is updated meanwhile removes its dead rows: no backend holds back the
// horizon. Control: while a job of the default mode runs, the same
// VACUUM leaves them.
func testSessionLongJobVacuum(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	e.exec(`CREATE TABLE app (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = off)`)
	e.exec(`INSERT INTO app SELECT g, 0 FROM generate_series(1, 100) g`)
	// holders names the sessions of this database that hold a snapshot or
	// an ID, other than this one: what kept VACUUM back, for a failure's
	// message.
	holders := func() string {
		var h string
		if err := e.pool.QueryRow(e.ctx, `SELECT COALESCE(string_agg(format('pid %s (%s, %s, xmin %s, xid %s): %s',
			pid, application_name, state, backend_xmin, backend_xid, left(query, 100)), '; '), 'none')
			FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
			AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)`).Scan(&h); err != nil {
			return err.Error()
		}
		return h
	}
	var held string // who held VACUUM back in the last round that left rows
	deadLeft := func(session bool) int64 {
		queue := fmt.Sprintf("vacuum-%v", session)
		e.enqueue(c, &gue.Job{Type: "t", Queue: queue})
		started, release := make(chan struct{}), make(chan struct{})
		wm := gue.WorkMap{"t": func(j *gue.Job) error {
			close(started)
			select {
			case <-release:
			case <-j.Context().Done():
			}
			return nil
		}}
		opts := []gue.WorkerPoolOption{gue.WithPoolQueue(queue), gue.WithPoolPollInterval(time.Hour),
			gue.WithPoolSessionLocks(session)}
		stop := startPool(t, gue.NewWorkerPool(c, wm, 2, opts...))
		<-started
		for range 10 {
			e.exec(`UPDATE app SET v = v + 1`)
		}
		// Up to five times, each once no statement of the pool is running:
		// a statement's snapshot holds VACUUM back while it runs (its xmin
		// can be older than the updates, also from another database's
		// transaction), and the pool's lock walk right after the job
		// started can still run on a loaded machine. The control's open
		// transaction is idle, not running, and holds across all five.
		var n int64
		for range 5 {
			waitFor(t, "no statement of the pool running", func() bool {
				return e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
					AND pid <> pg_backend_pid() AND state = 'active' AND backend_xmin IS NOT NULL`) == 0
			})
			e.exec(`VACUUM app`)
			if n = e.count(`SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'app'`); n == 0 {
				break
			}
		}
		if n != 0 {
			held = holders()
		}
		close(release)
		waitFor(t, "the job done", func() bool {
			return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, queue) == 0
		})
		stop()
		e.exec(`VACUUM app`) // clean for the next round
		return n
	}
	if n := deadLeft(true); n != 0 {
		t.Errorf("session mode: VACUUM left %d dead rows while a job ran, want 0; sessions of the database holding a snapshot or an ID: %s", n, held)
	}
	if n := deadLeft(false); n < 1000 {
		t.Errorf("control: the default mode's VACUUM left %d dead rows while a job ran, want >= 1000 (10 updates of 100 rows)", n)
	}
}

// A handler's writes through j.Tx() commit with the job's deletion when it
// succeeds, and are rolled back, with the failure recorded, when it fails.
func testSessionTx(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client(gue.WithClientBackoff(func(int) time.Duration { return time.Hour }))
	e.exec(`CREATE TABLE side (job_id bigint PRIMARY KEY)`)
	ok := e.enqueue(c, &gue.Job{Type: "t", Queue: "tx", Args: []byte(`"ok"`)})
	bad := e.enqueue(c, &gue.Job{Type: "t", Queue: "tx", Args: []byte(`"fail"`)})
	var ran sync.WaitGroup
	ran.Add(2)
	var once sync.Map
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		if _, loaded := once.LoadOrStore(j.ID, true); !loaded {
			defer ran.Done()
		}
		if _, err := j.Tx().Exec(j.Context(), `INSERT INTO side (job_id) VALUES ($1)`, j.ID); err != nil {
			return err
		}
		if string(j.Args) == `"fail"` {
			return errors.New("boom")
		}
		return nil
	}}
	runPool(t, sessionPool(c, wm, 4, "tx"))
	ran.Wait()
	waitFor(t, "both ended", func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1`, ok.ID) == 0 &&
			e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1 AND error_count > 0`, bad.ID) == 1
	})
	if n := e.count(`SELECT count(*) FROM side WHERE job_id = $1`, ok.ID); n != 1 {
		t.Errorf("the succeeding job's write: %d rows, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM side WHERE job_id = $1`, bad.ID); n != 0 {
		t.Errorf("the failing job's write: %d rows, want 0 (rolled back)", n)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1 AND error_count = 1 AND last_error = 'boom'`, bad.ID); n != 1 {
		t.Errorf("the failing job's failure not recorded")
	}
}

// A handler that calls j.Delete and j.Tx in either order and returns nil:
// its job ends once, deleted with its writes.
func testSessionDeleteAndTx(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	e.exec(`CREATE TABLE side (job_id bigint PRIMARY KEY)`)
	var mu sync.Mutex
	runs := map[int64]int{}
	write := func(j *gue.Job) error {
		_, err := j.Tx().Exec(j.Context(), `INSERT INTO side (job_id) VALUES ($1)`, j.ID)
		return err
	}
	wm := gue.WorkMap{
		"delete-first": func(j *gue.Job) error {
			mu.Lock()
			runs[j.ID]++
			mu.Unlock()
			if err := j.Delete(j.Context()); err != nil {
				return err
			}
			return write(j)
		},
		"tx-first": func(j *gue.Job) error {
			mu.Lock()
			runs[j.ID]++
			mu.Unlock()
			if err := write(j); err != nil {
				return err
			}
			return j.Delete(j.Context())
		},
	}
	e.enqueue(c, &gue.Job{Type: "delete-first", Queue: "both"})
	e.enqueue(c, &gue.Job{Type: "tx-first", Queue: "both"})
	runPool(t, sessionPool(c, wm, 4, "both"))
	waitFor(t, "both jobs done", func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs`) == 0
	})
	mu.Lock()
	defer mu.Unlock()
	for id, n := range runs {
		if n != 1 {
			t.Errorf("job %d ran %d times", id, n)
		}
	}
	if n := e.count(`SELECT count(*) FROM side`); n != 2 {
		t.Errorf("%d writes kept, want 2", n)
	}
}

// Three pools of 20 in session mode on one queue run each of 3,000 jobs
// exactly once, half of them writing through j.Tx().
func testSessionExactlyOnce(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	e.exec(`CREATE TABLE side (job_id bigint PRIMARY KEY)`)
	const total = 3000
	jobs := make([]*gue.Job, total)
	for i := range jobs {
		jobs[i] = &gue.Job{Type: "t", Queue: "once", Args: []byte(fmt.Sprint(i % 2))}
	}
	if err := c.EnqueueBatch(e.ctx, jobs); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	runs := map[int64]int{}
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		mu.Lock()
		runs[j.ID]++
		mu.Unlock()
		if string(j.Args) == "1" {
			_, err := j.Tx().Exec(j.Context(), `INSERT INTO side (job_id) VALUES ($1)`, j.ID)
			return err
		}
		return nil
	}}
	for range 3 {
		runPool(t, sessionPool(c, wm, 20, "once"))
	}
	waitForDrain(t, "the queue worked down", func() int64 {
		return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'once'`)
	}, func() string {
		mu.Lock()
		defer mu.Unlock()
		twice := 0
		for _, n := range runs {
			if n > 1 {
				twice++
			}
		}
		return fmt.Sprintf("%d jobs ran, %d more than once; %d advisory locks held; left: %s", len(runs), twice,
			e.advisoryLocks(), e.jobsLeft("once"))
	})
	mu.Lock()
	defer mu.Unlock()
	if len(runs) != total {
		t.Errorf("%d jobs ran, want %d", len(runs), total)
	}
	for id, n := range runs {
		if n != 1 {
			t.Errorf("job %d ran %d times", id, n)
		}
	}
	if n := e.count(`SELECT count(*) FROM side`); n != total/2 {
		t.Errorf("%d writes through j.Tx(), want %d", n, total/2)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs_dead`); n != 0 {
		t.Errorf("%d dead jobs, want 0", n)
	}
}

// The lock connection terminated while a job runs: the job's context is
// cancelled with ErrLockLost before the job runs again, the run that lost
// its lock ends nothing, and the job is done once in the end.
func testSessionLockLost(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	j := e.enqueue(c, &gue.Job{Type: "t", Queue: "lost"})
	var mu sync.Mutex
	var events []string
	note := func(s string) {
		mu.Lock()
		events = append(events, s)
		mu.Unlock()
	}
	started := make(chan struct{})
	var runs atomic.Int32
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		if runs.Add(1) > 1 {
			note("second run")
			return nil
		}
		close(started)
		<-j.Context().Done()
		note(fmt.Sprintf("first run cancelled: %v", context.Cause(j.Context())))
		if !errors.Is(context.Cause(j.Context()), gue.ErrLockLost) {
			t.Errorf("cause %v, want ErrLockLost", context.Cause(j.Context()))
		}
		return nil // ignored: the lock is gone, nothing may be written
	}}
	runPool(t, sessionPool(c, wm, 4, "lost"))
	<-started
	if n := e.count(terminateLockHolders); n != 1 {
		t.Fatalf("terminated %d lock connections, want 1", n)
	}
	waitFor(t, "the job done", func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1`, j.ID) == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || !strings.HasPrefix(events[0], "first run cancelled") || events[1] != "second run" {
		t.Errorf("events %q, want the first run cancelled, then a second run", events)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs_dead`); n != 0 {
		t.Errorf("%d dead jobs, want 0", n)
	}
}

// The lock connection lost after the lock statement and before the job
// starts (here: in the Locked hook, until the pool has logged the loss,
// which cancels the jobs it knows running): the job starts with its
// context cancelled with ErrLockLost, its run ends nothing, and it runs
// again, to its end, once.
func testSessionLostBeforeStart(t *testing.T, e *env) {
	needSessionMode(t, e)
	log := &errorLog{}
	var once sync.Once
	hookErr := make(chan string, 1)
	locked := func(_ context.Context, _ string, j *gue.Job, _ error) {
		if j == nil {
			return
		}
		once.Do(func() {
			var n int64
			if err := e.pool.QueryRow(e.ctx, terminateLockHolders).Scan(&n); err != nil || n != 1 {
				hookErr <- fmt.Sprintf("terminated %d lock connections (%v), want 1", n, err)
				return
			}
			for deadline := time.Now().Add(time.Minute); !log.has("lost the lock connection"); {
				if time.Now().After(deadline) {
					hookErr <- "the pool did not log the lost lock connection within a minute"
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	c := gue.NewClient(e.pool, gue.WithClientLogger(log), gue.WithClientHooks(gue.Hooks{Locked: locked}))
	j := e.enqueue(c, &gue.Job{Type: "t", Queue: "early"})
	var mu sync.Mutex
	var causes []error
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		mu.Lock()
		causes = append(causes, context.Cause(j.Context()))
		mu.Unlock()
		return nil
	}}
	runPool(t, sessionPool(c, wm, 4, "early"))
	waitFor(t, "the job done", func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1`, j.ID) == 0
	})
	select {
	case msg := <-hookErr:
		t.Fatal(msg)
	default:
	}
	mu.Lock()
	defer mu.Unlock()
	if len(causes) != 2 {
		t.Fatalf("%d runs (causes %v), want 2: one that lost its lock, one to the end", len(causes), causes)
	}
	if !errors.Is(causes[0], gue.ErrLockLost) {
		t.Errorf("the first run started with cause %v, want ErrLockLost: it ran without its lock", causes[0])
	}
	if causes[1] != nil {
		t.Errorf("the second run started cancelled: %v", causes[1])
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs_dead`); n != 0 {
		t.Errorf("%d dead jobs, want 0", n)
	}
}

// A run that ends right after its lock connection died, before the pool
// notices, writes nothing: its ending's statement proves the lock and finds
// it gone. The job runs again and is done once. (Control: the same ending
// with the lock held deletes the job, the second run's.)
func testSessionEndingProvesTheLock(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	j := e.enqueue(c, &gue.Job{Type: "t", Queue: "proof"})
	started, proceed := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		if runs.Add(1) == 1 {
			close(started)
			<-proceed
		}
		return nil
	}}
	// One worker: with the job running no lock turn goes out, so the pool
	// does not notice the loss before the ending.
	runPool(t, sessionPool(c, wm, 1, "proof"))
	<-started
	var pid int32
	if err := e.pool.QueryRow(e.ctx, `SELECT pid FROM pg_locks WHERE locktype = 'advisory'
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	e.exec(`SELECT pg_terminate_backend($1)`, pid)
	waitFor(t, "the lock connection's backend gone", func() bool {
		return e.count(`SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid) == 0
	})
	close(proceed) // ends at once: the pool's heartbeat has not looked yet
	waitFor(t, "the job done", func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1`, j.ID) == 0
	})
	if n := runs.Load(); n != 2 {
		t.Errorf("the job ran %d times, want 2: the first run's ending must not apply without its lock", n)
	}
}

// Each way a run ends, in session mode: a failure recorded, a panic, an
// unknown type, a snooze, a discard and a failure at max attempts, each
// written as in the default mode, and every lock given back.
func testSessionEveryEnding(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client(gue.WithClientBackoff(func(int) time.Duration { return time.Hour }))
	jobs := map[string]*gue.Job{}
	for _, typ := range []string{"fail", "panic", "mystery", "snooze", "discard", "last"} {
		j := &gue.Job{Type: typ, Queue: "endings"}
		if typ == "last" {
			j.MaxAttempts = 1
		}
		jobs[typ] = e.enqueue(c, j)
	}
	var ran sync.WaitGroup
	ran.Add(6)
	wm := gue.WorkMap{
		"fail":    func(*gue.Job) error { defer ran.Done(); return errors.New("it failed") },
		"panic":   func(*gue.Job) error { defer ran.Done(); panic("it panicked") },
		"snooze":  func(*gue.Job) error { defer ran.Done(); return gue.Snooze(time.Hour) },
		"discard": func(*gue.Job) error { defer ran.Done(); return fmt.Errorf("no use: %w", gue.ErrDiscard) },
		"last":    func(*gue.Job) error { defer ran.Done(); return errors.New("the last straw") },
	}
	var hooked atomic.Int32
	runPool(t, sessionPool(c, wm, 8, "endings", gue.WithPoolHooks(gue.Hooks{Work: func(next gue.RunFunc) gue.RunFunc {
		return func(ctx context.Context, j *gue.Job) error {
			if j.Type == "mystery" {
				defer ran.Done()
			}
			hooked.Add(1)
			return next(ctx, j)
		}
	}})))
	ran.Wait()
	waitFor(t, "every lock given back", func() bool { return e.advisoryLocks() == 0 })
	row := func(typ string) (errors int64, lastError string, later bool) {
		var last *string
		if err := e.pool.QueryRow(e.ctx, `SELECT error_count, last_error, run_at > now() + interval '30 minutes' FROM gue_jobs WHERE job_id = $1`,
			jobs[typ].ID).Scan(&errors, &last, &later); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if last != nil {
			lastError = *last
		}
		return errors, lastError, later
	}
	for typ, want := range map[string]string{"fail": "it failed", "panic": "it panicked", "mystery": "unknown job type"} {
		if n, msg, later := row(typ); n != 1 || !strings.Contains(msg, want) || !later {
			t.Errorf("%s: error_count %d, last_error %q, rescheduled %v; want 1, %q, true", typ, n, msg, later, want)
		}
	}
	if n, msg, later := row("snooze"); n != 0 || msg != "" || !later {
		t.Errorf("snooze: error_count %d, last_error %q, rescheduled %v; want 0, none, true", n, msg, later)
	}
	for typ, reason := range map[string]string{"discard": "discarded", "last": "max_attempts"} {
		if got, _, _ := e.dead("endings", jobs[typ].ID); got != reason {
			t.Errorf("%s: dead with reason %q, want %q", typ, got, reason)
		}
	}
	if n := hooked.Load(); n != 6 {
		t.Errorf("the Work hook ran %d times, want 6", n)
	}
}

// PauseQueue stops a session-mode pool locking the queue's jobs; resumed,
// it runs them.
func testSessionPause(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	if err := c.PauseQueue(e.ctx, "paused"); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	runPool(t, sessionPool(c, gue.WorkMap{"t": func(*gue.Job) error { runs.Add(1); return nil }}, 4, "paused"))
	e.enqueue(c, &gue.Job{Type: "t", Queue: "paused"})
	// Control of the wait below: a job of another queue on a pool that
	// polls as often runs meanwhile.
	var others atomic.Int32
	runPool(t, sessionPool(c, gue.WorkMap{"t": func(*gue.Job) error { others.Add(1); return nil }}, 4, "other"))
	e.enqueue(c, &gue.Job{Type: "t", Queue: "other"})
	waitFor(t, "the other queue's job run", func() bool { return others.Load() == 1 })
	time.Sleep(200 * time.Millisecond) // ten polls of the paused pool
	if n := runs.Load(); n != 0 {
		t.Fatalf("%d runs on a paused queue", n)
	}
	if err := c.ResumeQueue(e.ctx, "paused"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the resumed queue's job run", func() bool { return runs.Load() == 1 })
}

// A session-mode pool of several queues runs each queue's jobs once, and
// none of a queue it does not work.
func testSessionSeveralQueues(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	var mu sync.Mutex
	runs := map[string]int{}
	for _, q := range []string{"a", "b", "c", "not-mine"} {
		for range 20 {
			e.enqueue(c, &gue.Job{Type: "t", Queue: q})
		}
	}
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		mu.Lock()
		runs[j.Queue]++
		mu.Unlock()
		return nil
	}}
	runPool(t, gue.NewWorkerPool(c, wm, 8, gue.WithPoolQueues("a", "b", "c"), gue.WithPoolSessionLocks(true),
		gue.WithPoolPollInterval(20*time.Millisecond)))
	waitFor(t, "the pool's queues worked down", func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs WHERE queue IN ('a', 'b', 'c')`) == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if runs["a"] != 20 || runs["b"] != 20 || runs["c"] != 20 || runs["not-mine"] != 0 {
		t.Errorf("runs by queue %v, want 20 each of a, b and c, none of not-mine", runs)
	}
}

// Client.Cancel of a job a session-mode pool runs: the job is running, not
// queued (the advisory lock tells), so its context is cancelled and it goes
// to the dead jobs as cancelled. Control: a queued job is cancelled at once.
func testSessionCancelRunning(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	queued := e.enqueue(c, &gue.Job{Type: "t", Queue: "idle-queue"})
	if err := c.Cancel(e.ctx, "idle-queue", queued.ID); err != nil {
		t.Fatalf("cancel a queued job: %v", err)
	}
	j := e.enqueue(c, &gue.Job{Type: "t", Queue: "cancel"})
	started := make(chan struct{})
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		close(started)
		<-j.Context().Done()
		return context.Cause(j.Context())
	}}
	runPool(t, sessionPool(c, wm, 2, "cancel"))
	<-started
	if err := c.Cancel(e.ctx, "cancel", j.ID); !errors.Is(err, gue.ErrJobRunning) {
		t.Fatalf("Cancel = %v, want ErrJobRunning", err)
	}
	waitFor(t, "the job dead", func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs_dead WHERE job_id = $1 AND reason = 'cancelled'`, j.ID) == 1
	})
	if n := e.count(`SELECT count(*) FROM gue_jobs`); n != 0 {
		t.Errorf("%d jobs left, want 0", n)
	}
}

// Session mode refuses what cannot hold its locks, at Run, with errors that
// say so: batch mode beside it, and a pool with no adapter.Sessioner.
func testSessionRefusals(t *testing.T, e *env) {
	c := e.client()
	err := gue.NewWorkerPool(c, gue.WorkMap{}, 2, gue.WithPoolSessionLocks(true), gue.WithPoolBatchSize(10)).Run(e.ctx)
	if err == nil || !strings.Contains(err.Error(), "WithPoolBatchSize") {
		t.Errorf("session and batch mode: Run = %v, want an error naming WithPoolBatchSize", err)
	}
	bare := gue.NewClient(struct{ adapter.ConnPool }{e.pool})
	err = gue.NewWorkerPool(bare, gue.WorkMap{}, 2, gue.WithPoolSessionLocks(true)).Run(e.ctx)
	if err == nil || !strings.Contains(err.Error(), "adapter.Sessioner") {
		t.Errorf("no Sessioner: Run = %v, want an error naming adapter.Sessioner", err)
	}
	if Citus() {
		if _, ok := e.pool.(adapter.Sessioner); ok {
			err = gue.NewWorkerPool(c, gue.WorkMap{}, 2, gue.WithPoolSessionLocks(true)).Run(e.ctx)
			if err == nil || !strings.Contains(err.Error(), "Citus") {
				t.Errorf("on Citus: Run = %v, want an error naming Citus", err)
			}
		}
	}
	// Control: off, the same bare pool runs.
	ctx, cancel := context.WithTimeout(e.ctx, 50*time.Millisecond)
	defer cancel()
	if err := gue.NewWorkerPool(bare, gue.WorkMap{}, 2, gue.WithPoolSessionLocks(false)).Run(ctx); err != nil {
		t.Errorf("control: session mode off: Run = %v", err)
	}
}

// A lock connection whose statements land on different server sessions,
// as through a pooler in transaction mode (here: two connections taken in
// turns): the pool takes no lock on the wrong backend, runs nothing, and
// logs why. (The control that locks are taken at all: ManyJobsNoTransaction.)
func testSessionNotOneSession(t *testing.T, e *env) {
	needSessionMode(t, e)
	e.requireSessionRefused(t, hopping{e.pool}, "hop", "different server sessions")
}

// requireSessionRefused runs a pool in session mode on pool and a job of
// queue, and fails t unless the pool logs an error containing logged,
// runs nothing, leaves the job untouched and holds no advisory lock.
func (e *env) requireSessionRefused(t *testing.T, pool adapter.ConnPool, queue, logged string) {
	t.Helper()
	log := &errorLog{}
	c := gue.NewClient(pool, gue.WithClientLogger(log))
	j := e.enqueue(c, &gue.Job{Type: "t", Queue: queue})
	var runs atomic.Int32
	runPool(t, sessionPool(c, gue.WorkMap{"t": func(*gue.Job) error { runs.Add(1); return nil }}, 4, queue))
	waitFor(t, "the refusal logged", func() bool { return log.has(logged) })
	if n := runs.Load(); n != 0 {
		t.Errorf("%d runs where session mode must refuse (%q), want 0", n, logged)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1 AND error_count = 0`, j.ID); n != 1 {
		t.Errorf("the job was touched")
	}
	if n := e.advisoryLocks(); n != 0 {
		t.Errorf("%d advisory locks held, want 0", n)
	}
}

// A pool whose connections log in as a role that cannot see the lock
// connection's session in pg_stat_activity (another role, not a member of
// pg_read_all_stats) cannot prove a job's lock when it ends (see
// docs/session-mode.md): it refuses when the lock connection opens, with
// an error that says so. The other session cases are its control: their
// pool and lock connection share a role.
func testSessionOtherRole(t *testing.T, e *env) {
	needSessionMode(t, e)
	role := fmt.Sprintf("gue_other_%d", time.Now().UnixNano())
	e.exec(`CREATE ROLE ` + role + ` LOGIN PASSWORD 'other'`)
	t.Cleanup(func() {
		e.exec(`DROP OWNED BY ` + role)
		e.exec(`DROP ROLE ` + role)
	})
	e.exec(`GRANT USAGE ON SCHEMA public TO ` + role)
	e.exec(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ` + role)
	e.exec(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ` + role)
	u, err := url.Parse(e.dsn)
	if err != nil {
		t.Skipf("the test DSN is not a URL: %v", err)
	}
	u.User = url.UserPassword(role, "other")
	other := e.open(t, u.String())
	e.requireSessionRefused(t, lockAs{other, e.pool}, "roles", "do not see the lock connection's session")
}

// lockAs is a pool whose lock connection (Session) comes from another
// pool, logged in as another role.
type lockAs struct {
	adapter.ConnPool
	sessions adapter.ConnPool
}

func (l lockAs) Session(ctx context.Context) (adapter.SessionConn, error) {
	return l.sessions.(adapter.Sessioner).Session(ctx)
}

// Through a pooler in transaction mode (ThroughPgBouncer, BehindPooler) a
// pool in session mode refuses at its lock connection's start, with an
// error that names the pooler: it runs nothing, touches no job and leaves
// no advisory lock on any server session. The suites without a pooler
// skip it; their other session cases are its control (the check at each
// lock connection's start lets every direct connection through).
func testSessionTransactionPooler(t *testing.T, e *env) {
	need[adapter.Sessioner](t, e, capSession)
	if !e.cfg.pooler {
		t.Skip("runs behind a pooler in transaction mode (the suites through PgBouncer)")
	}
	e.requireSessionRefused(t, e.pool, "pooled", "a pooler in transaction mode")
}

// hopping is a pool whose Session connection runs its statements on two
// connections in turns, as a pooler in transaction mode may.
type hopping struct{ adapter.ConnPool }

func (h hopping) Session(ctx context.Context) (adapter.SessionConn, error) {
	a, err := h.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	b, err := h.Acquire(ctx)
	if err != nil {
		a.Release()
		return nil, err
	}
	return &hop{conns: [2]adapter.Conn{a, b}}, nil
}

type hop struct {
	conns [2]adapter.Conn
	n     int
}

func (h *hop) next() adapter.Conn { h.n++; return h.conns[h.n%2] }
func (h *hop) Exec(ctx context.Context, sql string, args ...any) (adapter.CommandTag, error) {
	return h.next().Exec(ctx, sql, args...)
}
func (h *hop) QueryRow(ctx context.Context, sql string, args ...any) adapter.Row {
	return h.next().QueryRow(ctx, sql, args...)
}
func (h *hop) Query(ctx context.Context, sql string, args ...any) (adapter.Rows, error) {
	return h.next().Query(ctx, sql, args...)
}
func (h *hop) Close(context.Context) error {
	h.conns[0].Release()
	h.conns[1].Release()
	return nil
}

// errorLog records the messages (with their fields) logged as errors.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Debug(string, ...adapter.Field) {}
func (l *errorLog) Info(string, ...adapter.Field)  {}
func (l *errorLog) Error(msg string, fields ...adapter.Field) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, fmt.Sprint(msg, fields))
}
func (l *errorLog) With(...adapter.Field) adapter.Logger { return l }

func (l *errorLog) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// A running job whose row moves past the pool's position (another writer
// sets its run_at to now) is met by the pool's next lock walks, and
// pg_try_advisory_lock grants the session that holds it its lock again: it
// must not run a second time beside the first, and the extra lock must go
// back (none is left once it is done). Control: taking the granted lock as
// a new job runs it twice.
func testSessionHeldJobMovedRunsOnce(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	held := e.enqueue(c, &gue.Job{Type: "t", Queue: "moved"})
	started, release := make(chan struct{}), make(chan struct{})
	var heldRuns, others atomic.Int32
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		if j.ID != held.ID {
			others.Add(1)
			return nil
		}
		if heldRuns.Add(1) == 1 {
			close(started)
		}
		select {
		case <-release:
		case <-j.Context().Done():
		}
		return nil
	}}
	stop := startPool(t, sessionPool(c, wm, 4, "moved"))
	defer stop()
	<-started
	e.exec(`UPDATE gue_jobs SET run_at = now() WHERE queue = 'moved' AND job_id = $1`, held.ID)
	// The pool polls every 20 ms: its walks meet the moved row until one
	// from the front skips it; the jobs enqueued after it show the walks
	// went past it.
	for i := range 5 {
		e.enqueue(c, &gue.Job{Type: "t", Queue: "moved"})
		waitFor(t, "the jobs after the moved one", func() bool { return others.Load() == int32(i+1) })
	}
	if n := heldRuns.Load(); n != 1 {
		t.Errorf("the held job started %d times while its first run went on, want 1", n)
	}
	close(release)
	waitFor(t, "the held job done", func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'moved'`) == 0
	})
	waitFor(t, "every advisory lock given back", func() bool { return e.advisoryLocks() == 0 })
	if n := heldRuns.Load(); n != 1 {
		t.Errorf("the held job ran %d times, want 1", n)
	}
}

// A pool of 512 workers or more locks jobs ahead of its free workers (at
// most a quarter of its size): with every worker busy it holds their
// locks and those of the jobs locked ahead, starts none of those until a
// worker is free, runs every job once, and gives back the locks of the
// ones it did not start when it stops, leaving them queued. The count of
// locks above the workers' is the control that the pool locked ahead.
func testSessionLocksAhead(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	const workers, total = 512, 1200
	enqueue := func(typ string, n int) {
		t.Helper()
		jobs := make([]*gue.Job, n)
		for i := range jobs {
			jobs[i] = &gue.Job{Type: typ, Queue: "ahead"}
		}
		if err := c.EnqueueBatch(e.ctx, jobs); err != nil {
			t.Fatal(err)
		}
	}
	enqueue("t", total)
	var mu sync.Mutex
	runs := map[int64]int{}
	var running atomic.Int32
	release := make(chan struct{})
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		mu.Lock()
		runs[j.ID]++
		mu.Unlock()
		running.Add(1)
		select {
		case <-release:
		case <-j.Context().Done():
		}
		return nil
	}}
	stop := startPool(t, sessionPool(c, wm, workers, "ahead", gue.WithPoolGracePeriod(0)))
	waitFor(t, "every worker running a job", func() bool { return running.Load() == workers })
	waitFor(t, "jobs locked ahead", func() bool { return e.advisoryLocks() > workers })
	if got := e.advisoryLocks(); got > workers+workers/4 {
		t.Errorf("%d advisory locks held by a pool of %d, want at most %d", got, workers, workers+workers/4)
	}
	if n := running.Load(); n != workers {
		t.Errorf("%d jobs started by a pool of %d whose jobs all wait", n, workers)
	}
	close(release)
	waitFor(t, "the queue worked down", func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'ahead'`) == 0
	})
	mu.Lock()
	for id, n := range runs {
		if n != 1 {
			t.Errorf("job %d ran %d times", id, n)
		}
	}
	if len(runs) != total {
		t.Errorf("%d jobs ran, want %d", len(runs), total)
	}
	mu.Unlock()

	// Stopped with jobs locked ahead: their locks go back, their rows
	// stay as they were.
	stop()
	running.Store(0)
	hold := gue.WorkMap{"hold": func(j *gue.Job) error {
		running.Add(1)
		<-j.Context().Done()
		return j.Context().Err()
	}}
	enqueue("hold", total)
	stop = startPool(t, sessionPool(c, hold, workers, "ahead", gue.WithPoolGracePeriod(0)))
	waitFor(t, "every worker running a job", func() bool { return running.Load() == workers })
	waitFor(t, "jobs locked ahead", func() bool { return e.advisoryLocks() > workers })
	stop()
	if got := e.advisoryLocks(); got != 0 {
		t.Errorf("%d advisory locks held after the pool stopped, want 0", got)
	}
	if n := running.Load(); n != workers {
		t.Errorf("%d jobs started, want %d: a job locked ahead ran while the pool stopped", n, workers)
	}
	// The running ones were stopped hard, and went back as they were too.
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'ahead' AND error_count = 0`); n != total {
		t.Errorf("%d jobs left untouched in the queue, want all %d", n, total)
	}
}
