package reliability_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gue-go/gue/conformance"
	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/driver-pgxv5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	conformance.Terminate()
	terminateRestartable()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// workerBinary builds cmd/gue-testworker once per test process.
func workerBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "gue-testworker")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "gue-testworker")
		out, err := exec.Command("go", "build", "-o", binary.path, "./cmd/gue-testworker").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// database is one test's database, with the gue schema and the tables the
// worker binary writes: attempts (one row per handler run, committed on its
// own) and results (one row per job, inside the job's transaction).
type database struct {
	t    testing.TB
	dsn  string
	pool *pgxpool.Pool
	ctx  context.Context
}

// newDatabase creates a database on the server at adminDSN.
func newDatabase(t testing.TB, adminDSN string) *database {
	t.Helper()
	ctx := context.Background()
	admin, err := pgxpool.New(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	d := &database{t: t, dsn: conformance.CreateDatabase(t, pgxv5.NewConnPool(admin), adminDSN), ctx: ctx}
	conformance.PrepareCitusDatabase(t, adminDSN, dbName(d.dsn), func(dsn string, stmts ...string) error {
		p, err := pgxpool.New(ctx, dsn)
		if err != nil {
			return err
		}
		defer p.Close()
		for _, s := range stmts {
			if _, err := p.Exec(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	return prepareDatabase(t, d)
}

// prepareDatabase opens d's pool and creates the gue schema and the tables
// the worker binary writes in d's database.
func prepareDatabase(t testing.TB, d *database) *database {
	t.Helper()
	ctx := d.ctx
	var err error
	if d.pool, err = pgxpool.New(ctx, d.dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.pool.Close() })
	if err := gue.Migrate(ctx, pgxv5.NewConnPool(d.pool), ""); err != nil {
		t.Fatal(err)
	}
	if conformance.Citus() {
		if err := gue.DistributeCitus(ctx, pgxv5.NewConnPool(d.pool), ""); err != nil {
			t.Fatal(err)
		}
	}
	d.exec(`CREATE TABLE attempts (job_id bigint NOT NULL, pid int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`)
	d.exec(`CREATE TABLE results (job_id bigint NOT NULL, done_at timestamptz NOT NULL DEFAULT clock_timestamp())`)
	return d
}

// dbName is the database of a postgres:// DSN.
func dbName(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

// on returns d reporting to t, for use inside a fuzz target, where the
// *testing.F that made d must not be used.
func (d *database) on(t testing.TB) *database {
	c := *d
	c.t = t
	return &c
}

func (d *database) exec(sql string, args ...any) {
	d.t.Helper()
	if _, err := d.pool.Exec(d.ctx, sql, args...); err != nil {
		d.t.Fatalf("%s: %v", sql, err)
	}
}

func (d *database) count(sql string, args ...any) int64 {
	d.t.Helper()
	var n int64
	if err := d.pool.QueryRow(d.ctx, sql, args...).Scan(&n); err != nil {
		d.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// enqueue adds n jobs of type "work" to queue; their IDs are 1..n in a fresh
// database.
func (d *database) enqueue(queue string, n int) {
	d.t.Helper()
	d.exec(`INSERT INTO gue_jobs (queue, job_type) SELECT $1, 'work' FROM generate_series(1, $2::int)`, queue, n)
}

// atOnce runs each of subtests as a subtest of t, all at the same time,
// and returns once every one has ended. For scenarios that each bring their
// own database (or servers) and spend much of their time waiting (on a
// partition, a promotion, a killed process's restart), so that the machine
// is idle while they run one after another. Not t.Parallel: its slots
// (-parallel, the number of CPUs) run two at a time on 2 cores, and a
// parallel subtest waits for its parent's other tests.
func atOnce(t *testing.T, subtests ...subtest) {
	t.Helper()
	var wg sync.WaitGroup
	for _, s := range subtests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(s.name, s.run)
		}()
	}
	wg.Wait()
}

// subtest is one of atOnce's subtests.
type subtest struct {
	name string
	run  func(t *testing.T)
}

// eachMode is a subtest of run per mode, for atOnce.
func eachMode(run func(t *testing.T, m mode)) []subtest {
	var ss []subtest
	for _, m := range modes {
		ss = append(ss, subtest{m.name, func(t *testing.T) { run(t, m) }})
	}
	return ss
}

// stallLimit is how long the queue may go without a single job finishing
// before a test fails: tests judge progress, not speed, since the machines
// they run on are shared and sometimes heavily loaded.
const stallLimit = 60 * time.Second

// waitDrained polls until no job is left (other processes do the work, so
// the database is the only signal) and returns how long that took. It fails
// only when the number of jobs left has not gone down for stallLimit.
func (d *database) waitDrained() time.Duration {
	d.t.Helper()
	start := time.Now()
	p := d.progress()
	for p.left > 0 {
		time.Sleep(100 * time.Millisecond)
		if !p.check(d) {
			d.t.Fatalf("no progress: %d jobs left, none finished in the last %s", p.left, stallLimit)
		}
	}
	return time.Since(start)
}

// progress watches the number of jobs left in the queue.
type progress struct {
	left    int64
	movedAt time.Time
}

func (d *database) progress() *progress {
	d.t.Helper()
	return &progress{left: d.count(`SELECT count(*) FROM gue_jobs`), movedAt: time.Now()}
}

// check reads the number of jobs left and reports false when it has not gone
// down for stallLimit.
func (p *progress) check(d *database) bool {
	d.t.Helper()
	if left := d.count(`SELECT count(*) FROM gue_jobs`); left < p.left {
		p.left, p.movedAt = left, time.Now()
	}
	return time.Since(p.movedAt) < stallLimit
}

// outcome counts what happened to jobs 1..n.
type outcome struct {
	jobs, results, lost, doubles, attempts, reexecuted int64
}

func (o outcome) String() string {
	return fmt.Sprintf("jobs=%d results=%d lost=%d doubles=%d handler runs=%d re-executed=%d",
		o.jobs, o.results, o.lost, o.doubles, o.attempts, o.reexecuted)
}

func (d *database) outcome(n int) outcome {
	d.t.Helper()
	o := outcome{jobs: int64(n)}
	o.results = d.count(`SELECT count(*) FROM results`)
	o.lost = d.count(`SELECT count(*) FROM generate_series(1, $1::int) g WHERE NOT EXISTS (SELECT 1 FROM results r WHERE r.job_id = g)`, n)
	o.doubles = o.results - d.count(`SELECT count(DISTINCT job_id) FROM results`)
	o.attempts = d.count(`SELECT count(*) FROM attempts`)
	o.reexecuted = o.attempts - d.count(`SELECT count(DISTINCT job_id) FROM attempts`)
	return o
}

// drainAndStop waits for the queue to drain, requires every worker of ws to
// have lived through the fault (they died "with the server", say), stops
// them, and returns the outcome of jobs 1..n, required exactly once.
func (d *database) drainAndStop(t *testing.T, ws []*worker, fault string, n int) outcome {
	t.Helper()
	d.waitDrained()
	for i, w := range ws {
		if !w.running() {
			t.Fatalf("worker process %d died %s: %v", i, fault, w.err)
		}
		w.stop(t)
	}
	o := d.outcome(n)
	d.requireExactlyOnce(o)
	return o
}

// requireExactlyOnce fails unless every job 1..n has exactly one result and
// the queue is empty.
func (d *database) requireExactlyOnce(o outcome) {
	d.t.Helper()
	if o.lost != 0 || o.doubles != 0 || o.results != o.jobs {
		d.t.Errorf("not exactly once: %s", o)
	}
	if left := d.count(`SELECT count(*) FROM gue_jobs`); left != 0 {
		d.t.Errorf("%d jobs left in the queue", left)
	}
}

// lockedOutput is an io.Writer safe for the concurrent writes of a process's
// stdout and stderr.
type lockedOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedOutput) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedOutput) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// worker is one running gue-testworker process.
type worker struct {
	cmd  *exec.Cmd
	out  *lockedOutput
	done chan struct{}
	err  error
}

// startWorker starts the worker binary on dsn with flags args. Its output is
// logged when the test fails.
func startWorker(t *testing.T, dsn string, args ...string) *worker {
	t.Helper()
	return startWorkerIn(t, nil, dsn, args...)
}

// startWorkerIn is startWorker with the command prefix in before the
// binary (such as "ip netns exec NAME", which runs it as the same process).
func startWorkerIn(t *testing.T, in []string, dsn string, args ...string) *worker {
	t.Helper()
	argv := append(append(append([]string{}, in...), workerBinary(t)), args...)
	w := &worker{cmd: exec.Command(argv[0], argv[1:]...), out: &lockedOutput{}, done: make(chan struct{})}
	w.cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn)
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		w.err = w.cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			_ = w.cmd.Process.Kill()
			<-w.done
		}
		if out := w.out.String(); t.Failed() && out != "" {
			if len(out) > 4000 {
				out = "..." + out[len(out)-4000:]
			}
			t.Logf("worker %d output:\n%s", w.cmd.Process.Pid, out)
		}
	})
	return w
}

func (w *worker) signal(sig syscall.Signal) { _ = w.cmd.Process.Signal(sig) }

func (w *worker) running() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

// wait waits for the process to exit and returns its error, or fails after
// timeout, which is a limit for a process that hangs, not a speed target.
func (w *worker) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-w.done:
		return w.err
	case <-time.After(timeout):
		t.Fatalf("worker %d still running after %s", w.cmd.Process.Pid, timeout)
		return nil
	}
}

// stop shuts the worker down gracefully and expects a clean exit.
func (w *worker) stop(t *testing.T) {
	t.Helper()
	// A process started a moment ago may not handle SIGTERM yet (its
	// default action kills it): it says "started" once it does.
	if w.running() {
		w.waitOutput(t, "started")
	}
	w.signal(syscall.SIGTERM)
	if err := w.wait(t, 3*time.Minute); err != nil {
		t.Errorf("worker %d exited with %v after SIGTERM", w.cmd.Process.Pid, err)
	}
}

// waitOutput waits until the process has printed s, failing if it exits or
// hangs for stallLimit first.
func (w *worker) waitOutput(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(stallLimit)
	for !strings.Contains(w.out.String(), s) {
		if !w.running() || time.Now().After(deadline) {
			t.Fatalf("worker %d never printed %q", w.cmd.Process.Pid, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logsContain reports whether any worker's output contains s.
func logsContain(ws []*worker, s string) bool {
	for _, w := range ws {
		if strings.Contains(w.out.String(), s) {
			return true
		}
	}
	return false
}
