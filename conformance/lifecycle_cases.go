package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

// lifecycleCases is the suite's Lifecycle group: the ways a job ends other
// than done or failed-and-retried, in both modes.
var lifecycleCases = []testCase{
	{"MaxAttemptsMovesToDead", testMaxAttemptsMovesToDead},
	{"DiscardMovesToDead", testDiscardMovesToDead},
	{"RetryAndPurgeDead", testRetryAndPurgeDead},
	{"SnoozeCountsNothingKeepsWrites", testSnoozeCountsNothingKeepsWrites},
	{"BatchMembersEndTheirOwnWay", testBatchMembersEndTheirOwnWay},
	{"CancelQueuedJob", testCancelQueuedJob},
	{"CancelRunningJob", testCancelRunningJob},
	{"CancelRequestEndsWithTheRun", testCancelRequestEndsWithTheRun},
	{"PauseAndResumeQueue", testPauseAndResumeQueue},
	{"LifecycleBadInput", testLifecycleBadInput},
	{"MigrateFromVersion3", testMigrateFromVersion3},
}

// dead returns the reason, error count and last error of dead job id, or
// reason "" when it is not dead.
func (e *env) dead(queue string, id int64) (reason string, errorCount int64, lastError string) {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT reason, error_count, COALESCE(last_error, '') FROM gue_jobs_dead WHERE queue = $1 AND job_id = $2`, queue, id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&reason, &errorCount, &lastError); err != nil {
			e.t.Fatal(err)
		}
	}
	return reason, errorCount, lastError
}

// workUntilIdle runs w until it finds no ready job.
func workUntilIdle(e *env, w *gue.Worker) {
	for w.WorkOne(e.ctx) {
	}
}

func testMaxAttemptsMovesToDead(t *testing.T, e *env) {
	c := e.client(gue.WithClientMaxAttempts(2), gue.WithClientBackoff(gue.ConstantBackoff(0)))
	byClient := e.enqueue(c, &gue.Job{Type: "fails"})
	byJob := e.enqueue(c, &gue.Job{Type: "fails", MaxAttempts: 1})
	var outcomes []gue.Outcome
	var mu sync.Mutex
	hooked := e.client(gue.WithClientMaxAttempts(2), gue.WithClientBackoff(gue.ConstantBackoff(0)), gue.WithClientHooks(gue.Hooks{
		Work: func(next gue.RunFunc) gue.RunFunc {
			return func(ctx context.Context, j *gue.Job) error {
				err := next(ctx, j)
				mu.Lock()
				outcomes = append(outcomes, gue.OutcomeOf(err))
				mu.Unlock()
				return err
			}
		},
	}))
	w := gue.NewWorker(hooked, gue.WorkMap{"fails": func(*gue.Job) error { return errors.New("always") }})
	workUntilIdle(e, w)
	if reason, n, msg := e.dead("", byClient.ID); reason != gue.ReasonMaxAttempts || n != 2 || msg != "always" {
		t.Errorf("job with the client's limit 2: dead %q after %d failures (%q); want max_attempts after 2", reason, n, msg)
	}
	if reason, n, _ := e.dead("", byJob.ID); reason != gue.ReasonMaxAttempts || n != 1 {
		t.Errorf("job with its own limit 1: dead %q after %d failures; want max_attempts after 1", reason, n)
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs left in the queue", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(outcomes) != "[error dead dead]" && fmt.Sprint(outcomes) != "[dead error dead]" {
		t.Errorf("outcomes seen by the hooks: %v; want one error and two dead", outcomes)
	}
	// No limit (the default): retried as before.
	unlimited := e.client(gue.WithClientBackoff(gue.ConstantBackoff(0)))
	j := e.enqueue(unlimited, &gue.Job{Type: "fails"})
	w = gue.NewWorker(unlimited, gue.WorkMap{"fails": func(*gue.Job) error { return errors.New("always") }})
	for i := 0; i < 5; i++ {
		w.WorkOne(e.ctx)
	}
	if n := e.count(`SELECT error_count FROM gue_jobs WHERE job_id = $1`, j.ID); n != 5 {
		t.Errorf("a job with no limit has error_count %d after 5 failures; want 5, still queued", n)
	}
}

func testDiscardMovesToDead(t *testing.T, e *env) {
	e.exec(`CREATE TABLE written (v int)`)
	c := e.client()
	j := e.enqueue(c, &gue.Job{Type: "t", Args: []byte(`{"bad":true}`)})
	w := gue.NewWorker(c, gue.WorkMap{"t": func(j *gue.Job) error {
		if _, err := j.Tx().Exec(j.Context(), `INSERT INTO written VALUES (1)`); err != nil {
			return err
		}
		return fmt.Errorf("args are hopeless: %w", gue.ErrDiscard)
	}})
	if !w.WorkOne(e.ctx) {
		t.Fatal("no job worked")
	}
	if reason, n, msg := e.dead("", j.ID); reason != gue.ReasonDiscarded || n != 1 || msg != "args are hopeless: job discarded" {
		t.Errorf("discarded job: dead %q, %d failures, %q", reason, n, msg)
	}
	if n := e.count(`SELECT count(*) FROM written`); n != 0 {
		t.Errorf("a discarded job's writes committed: %d", n)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs_dead WHERE args::text = '{"bad":true}' AND died_at > now() - interval '1 minute'`); n != 1 {
		t.Error("the dead row lost the job's args or died_at")
	}
}

func testRetryAndPurgeDead(t *testing.T, e *env) {
	c := e.client(gue.WithClientMaxAttempts(1))
	j := e.enqueue(c, &gue.Job{Type: "t", Queue: "q"})
	other := e.enqueue(c, &gue.Job{Type: "t", Queue: "other"})
	fails := gue.WorkMap{"t": func(*gue.Job) error { return errors.New("boom") }}
	workUntilIdle(e, gue.NewWorker(c, fails, gue.WithWorkerQueue("q")))
	workUntilIdle(e, gue.NewWorker(c, fails, gue.WithWorkerQueue("other")))
	if err := c.RetryDead(e.ctx, "q", j.ID+1000); !errors.Is(err, gue.ErrJobNotFound) {
		t.Errorf("RetryDead of an unknown id = %v; want ErrJobNotFound", err)
	}
	if err := c.RetryDead(e.ctx, "other", j.ID); !errors.Is(err, gue.ErrJobNotFound) {
		t.Errorf("RetryDead in the wrong queue = %v; want ErrJobNotFound", err)
	}
	if err := c.RetryDead(e.ctx, "q", j.ID); err != nil {
		t.Fatalf("RetryDead: %v", err)
	}
	got := e.lock(c, "q")
	if got == nil || got.ID != j.ID || got.ErrorCount != 1 || got.LastError.String != "boom" {
		t.Fatalf("retried job = %+v; want job %d, ready now, its error count and last error kept", got, j.ID)
	}
	e.done(got)
	if n, err := c.PurgeDead(e.ctx, "other", -time.Second); err == nil {
		t.Errorf("PurgeDead with a negative age deleted %d; want an error", n)
	}
	if n, err := c.PurgeDead(e.ctx, "other", time.Hour); err != nil || n != 0 {
		t.Errorf("PurgeDead of jobs older than an hour = %d, %v; want 0", n, err)
	}
	if n, err := c.PurgeDead(e.ctx, "other", 0); err != nil || n != 1 {
		t.Errorf("PurgeDead(0) = %d, %v; want 1", n, err)
	}
	if reason, _, _ := e.dead("other", other.ID); reason != "" {
		t.Error("the purged job is still dead")
	}
}

func testSnoozeCountsNothingKeepsWrites(t *testing.T, e *env) {
	e.exec(`CREATE TABLE written (v int)`)
	c := e.client()
	j := e.enqueue(c, &gue.Job{Type: "t"})
	neg := e.enqueue(c, &gue.Job{Type: "neg"})
	w := gue.NewWorker(c, gue.WorkMap{
		"t": func(j *gue.Job) error {
			if _, err := j.Tx().Exec(j.Context(), `INSERT INTO written VALUES (1)`); err != nil {
				return err
			}
			return gue.Snooze(time.Hour)
		},
		"neg": func(*gue.Job) error { return gue.Snooze(-time.Second) },
	})
	workUntilIdle(e, w)
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1 AND error_count = 0 AND last_error IS NULL
		AND run_at > now() + interval '59 minutes'`, j.ID); n != 1 {
		t.Error("the snoozed job is not rescheduled an hour ahead with no failure counted")
	}
	if n := e.count(`SELECT count(*) FROM written`); n != 1 {
		t.Errorf("the snoozed job's writes: %d rows; want 1, kept", n)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1 AND error_count = 1 AND last_error LIKE '%snooze%'`, neg.ID); n != 1 {
		t.Error("a negative snooze was not recorded as a failure")
	}
}

// In batch mode each member ends its own way, without disturbing the others.
func testBatchMembersEndTheirOwnWay(t *testing.T, e *env) {
	e.exec(`CREATE TABLE written (kind text)`)
	c := e.client(gue.WithClientMaxAttempts(1))
	kinds := []string{"ok", "discard", "snooze", "dies"}
	ids := map[string]int64{}
	for _, k := range kinds {
		ids[k] = e.enqueue(c, &gue.Job{Type: k}).ID
	}
	write := func(j *gue.Job) error {
		_, err := j.Tx().Exec(j.Context(), `INSERT INTO written VALUES ($1)`, j.Type)
		return err
	}
	var mu sync.Mutex
	ran := 0
	all := make(chan struct{})
	count := func() {
		mu.Lock()
		defer mu.Unlock()
		if ran++; ran == len(kinds) {
			close(all)
		}
	}
	p := gue.NewWorkerPool(c, gue.WorkMap{
		"ok":      func(j *gue.Job) error { defer count(); return write(j) },
		"discard": func(j *gue.Job) error { defer count(); _ = write(j); return gue.ErrDiscard },
		"snooze":  func(j *gue.Job) error { defer count(); _ = write(j); return gue.Snooze(time.Hour) },
		"dies":    func(j *gue.Job) error { defer count(); _ = write(j); return errors.New("last try") },
	}, 1, gue.WithPoolBatchSize(10), gue.WithPoolPollInterval(10*time.Millisecond))
	runPoolUntil(t, p, all)
	waitFor(t, "the batch's commit", func() bool { return e.count(`SELECT count(*) FROM gue_jobs_dead`) == 2 })
	if r, n, _ := e.dead("", ids["discard"]); r != gue.ReasonDiscarded || n != 1 {
		t.Errorf("discarded member: %q, %d", r, n)
	}
	if r, n, msg := e.dead("", ids["dies"]); r != gue.ReasonMaxAttempts || n != 1 || msg != "last try" {
		t.Errorf("member at its last attempt: %q, %d, %q", r, n, msg)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1 AND error_count = 0 AND run_at > now() + interval '59 minutes'`, ids["snooze"]); n != 1 {
		t.Error("snoozed member not rescheduled with no failure")
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1`, ids["ok"]); n != 0 {
		t.Error("successful member not deleted")
	}
	if got := e.count(`SELECT count(*) FROM written WHERE kind IN ('ok', 'snooze')`); got != 2 || e.count(`SELECT count(*) FROM written`) != 2 {
		t.Errorf("writes kept: %d of ok and snooze, %d in all; want exactly those 2", got, e.count(`SELECT count(*) FROM written`))
	}
}

func testCancelQueuedJob(t *testing.T, e *env) {
	c := e.client()
	j := e.enqueue(c, &gue.Job{Type: "t", Queue: "q"})
	if err := c.Cancel(e.ctx, "other", j.ID); !errors.Is(err, gue.ErrJobNotFound) {
		t.Errorf("Cancel in the wrong queue = %v; want ErrJobNotFound", err)
	}
	if err := c.Cancel(e.ctx, "q", j.ID); err != nil {
		t.Fatalf("Cancel of a queued job: %v", err)
	}
	if reason, n, _ := e.dead("q", j.ID); reason != gue.ReasonCancelled || n != 0 {
		t.Errorf("cancelled queued job: dead %q with %d failures; want cancelled, 0", reason, n)
	}
	ran := false
	workUntilIdle(e, gue.NewWorker(c, gue.WorkMap{"t": func(*gue.Job) error { ran = true; return nil }}, gue.WithWorkerQueue("q")))
	if ran {
		t.Error("a cancelled job ran")
	}
	if err := c.Cancel(e.ctx, "q", j.ID); !errors.Is(err, gue.ErrJobNotFound) {
		t.Errorf("Cancel of a dead job = %v; want ErrJobNotFound", err)
	}
}

// A running job is cancelled through its context, whether the pool listens
// or only polls (as behind PgBouncer), in batch mode too; one whose WorkFunc
// ignores the cancellation and returns nil completes normally.
func testCancelRunningJob(t *testing.T, e *env) {
	c := e.client()
	for _, mode := range []struct {
		listen bool
		batch  int
	}{{true, 0}, {false, 0}, {true, 5}} {
		listen := mode.listen
		queue := fmt.Sprintf("cancel-listen-%v-batch-%d", listen, mode.batch)
		obedient := e.enqueue(c, &gue.Job{Type: "obedient", Queue: queue})
		stubborn := e.enqueue(c, &gue.Job{Type: "stubborn", Queue: queue})
		started := make(chan int64, 2)
		causes := make(chan error, 1)
		stubbornNoticed := make(chan struct{})
		finish := make(chan struct{})
		p := gue.NewWorkerPool(c, gue.WorkMap{
			"obedient": func(j *gue.Job) error {
				started <- j.ID
				<-j.Context().Done()
				causes <- context.Cause(j.Context())
				return j.Context().Err()
			},
			"stubborn": func(j *gue.Job) error {
				started <- j.ID
				<-j.Context().Done()
				close(stubbornNoticed)
				<-finish
				return nil // ignores its cancellation
			},
		}, 2, gue.WithPoolQueue(queue), gue.WithPoolListen(listen), gue.WithPoolPollInterval(20*time.Millisecond),
			gue.WithPoolBatchSize(mode.batch))
		ctx, cancel := context.WithCancel(e.ctx)
		stopped := make(chan error, 1)
		go func() { stopped <- p.Run(ctx) }()
		for i := 0; i < 2; i++ {
			select {
			case <-started:
			case <-time.After(time.Minute):
				t.Fatalf("%s: jobs did not start", queue)
			}
		}
		at := time.Now()
		if err := c.Cancel(e.ctx, queue, obedient.ID); !errors.Is(err, gue.ErrJobRunning) {
			t.Errorf("%s: Cancel of a running job = %v; want ErrJobRunning", queue, err)
		}
		if err := c.Cancel(e.ctx, queue, stubborn.ID); !errors.Is(err, gue.ErrJobRunning) {
			t.Errorf("%s: Cancel of a running job = %v; want ErrJobRunning", queue, err)
		}
		select {
		case cause := <-causes:
			if !errors.Is(cause, gue.ErrCancelled) {
				t.Errorf("%s: job context cause %v; want ErrCancelled", queue, cause)
			}
			t.Logf("%s: job context cancelled %s after Cancel", queue, time.Since(at).Round(time.Millisecond))
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the running job's context was not cancelled within 30s", queue)
		}
		select {
		case <-stubbornNoticed:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the stubborn job's context was not cancelled within 30s", queue)
		}
		close(finish)
		waitFor(t, "the cancelled job's death", func() bool { r, _, _ := e.dead(queue, obedient.ID); return r == gue.ReasonCancelled })
		waitFor(t, "the stubborn job's completion", func() bool {
			return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, queue) == 0
		})
		if r, _, _ := e.dead(queue, stubborn.ID); r != "" {
			t.Errorf("%s: a job whose WorkFunc returned nil went to the dead jobs (%s)", queue, r)
		}
		cancel()
		if err := <-stopped; err != nil {
			t.Error(err)
		}
		if n := e.count(`SELECT count(*) FROM gue_jobs_cancel WHERE queue = $1`, queue); n != 0 {
			t.Errorf("%s: %d cancellation requests left behind", queue, n)
		}
	}
}

// A paused queue is not worked, by running pools or by new ones; enqueueing
// goes on, and resuming works the jobs.
func testPauseAndResumeQueue(t *testing.T, e *env) {
	c := e.client()
	picked := make(chan int64, 10)
	newPool := func() *gue.WorkerPool {
		return gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error { picked <- j.ID; return nil }}, 2,
			gue.WithPoolQueue("paused"), gue.WithPoolPollInterval(20*time.Millisecond))
	}
	running := newPool()
	runPool(t, running)
	e.enqueue(c, &gue.Job{Type: "t", Queue: "paused"})
	select {
	case <-picked:
	case <-time.After(time.Minute):
		t.Fatal("the queue was not worked before the pause")
	}
	if err := c.PauseQueue(e.ctx, "paused"); err != nil {
		t.Fatal(err)
	}
	if err := c.PauseQueue(e.ctx, "paused"); err != nil {
		t.Fatalf("pausing a paused queue: %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // a pause takes effect within a second, by definition
	runPool(t, newPool())               // a pool started while paused starts paused
	j := e.enqueue(c, &gue.Job{Type: "t", Queue: "paused"})
	select {
	case id := <-picked:
		t.Fatalf("job %d of a paused queue ran", id)
	case <-time.After(1500 * time.Millisecond):
	}
	if err := c.ResumeQueue(e.ctx, "paused"); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-picked:
		if id != j.ID {
			t.Errorf("ran job %d; want %d", id, j.ID)
		}
	case <-time.After(time.Minute):
		t.Fatal("the resumed queue's job did not run")
	}
}

func testLifecycleBadInput(t *testing.T, e *env) {
	bad := e.client(gue.WithClientMaxAttempts(-1))
	if err := bad.Enqueue(e.ctx, &gue.Job{Type: "t"}); !errors.Is(err, gue.ErrInvalidMaxAttempts) {
		t.Errorf("a client with max attempts -1: Enqueue = %v; want ErrInvalidMaxAttempts", err)
	}
	c := e.client()
	if err := c.Enqueue(e.ctx, &gue.Job{Type: "t", MaxAttempts: -2}); !errors.Is(err, gue.ErrInvalidMaxAttempts) {
		t.Errorf("Enqueue with MaxAttempts -2 = %v; want ErrInvalidMaxAttempts", err)
	}
	if err := c.EnqueueBatch(e.ctx, []*gue.Job{{Type: "t"}, {Type: "t", MaxAttempts: -1}}); !errors.Is(err, gue.ErrInvalidMaxAttempts) {
		t.Errorf("EnqueueBatch with MaxAttempts -1 = %v; want ErrInvalidMaxAttempts", err)
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs written by bad input", n)
	}
	if err := c.Cancel(e.ctx, "", 424242); !errors.Is(err, gue.ErrJobNotFound) {
		t.Errorf("Cancel of an unknown id = %v; want ErrJobNotFound", err)
	}
	if err := gue.Snooze(-time.Minute); !errors.Is(err, gue.ErrInvalidSnooze) {
		t.Errorf("Snooze(-1m) = %v; want ErrInvalidSnooze", err)
	}
}

// An installation at version 3 (before dead jobs, cancellations and pauses)
// migrates, keeping its jobs.
func testMigrateFromVersion3(t *testing.T, e *env) {
	e.exec(`DROP TABLE gue_jobs_dead, gue_queues_paused, gue_jobs_cancel`)
	e.exec(`ALTER TABLE gue_jobs DROP COLUMN max_attempts`)
	e.exec(`DELETE FROM gue_migrations WHERE version > 3`)
	e.exec(`INSERT INTO gue_jobs (job_type) VALUES ('old')`)
	c := e.client(gue.WithClientMaxAttempts(1))
	if err := c.Enqueue(e.ctx, &gue.Job{Type: "t"}); !errors.Is(err, gue.ErrNotMigrated) {
		t.Errorf("Enqueue before migrating to version 4 = %v; want ErrNotMigrated", err)
	}
	if err := gue.Migrate(e.ctx, e.pool, ""); err != nil {
		t.Fatalf("Migrate from version 3: %v", err)
	}
	workUntilIdle(e, gue.NewWorker(c, gue.WorkMap{"old": func(*gue.Job) error { return gue.ErrDiscard }}))
	if n := e.count(`SELECT count(*) FROM gue_jobs_dead WHERE job_type = 'old' AND max_attempts = 0`); n != 1 {
		t.Error("the old job did not reach the dead jobs after the migration")
	}
}

// A cancellation request belongs to one run of its job. A job whose
// WorkFunc ends before its worker sees the request — failing into the dead
// jobs, or completing — takes the request with it: a dead job that is
// retried then runs normally, and no request is left behind. The WorkFuncs
// ignore their contexts and return as soon as Cancel has returned, so the
// worker usually has not seen the request yet (polling, it looks every half
// second); when it has, the job dies cancelled, which the test accepts.
func testCancelRequestEndsWithTheRun(t *testing.T, e *env) {
	c := e.client()
	for _, mode := range []struct {
		listen bool
		batch  int
		n      int // jobs of each kind
	}{{false, 0, 1}, {true, 0, 1}, {false, 8, 4}} {
		// One job of each kind in the default mode, where each running job
		// holds a connection and Cancel needs one more; in batch mode one
		// batch of 2n holds every job on one connection.
		queue := fmt.Sprintf("cancel-run-listen-%v-batch-%d", mode.listen, mode.batch)
		n := mode.n
		var fails, passes []*gue.Job
		for i := 0; i < n; i++ {
			fails = append(fails, e.enqueue(c, &gue.Job{Type: "fails", Queue: queue, MaxAttempts: 1}))
			passes = append(passes, e.enqueue(c, &gue.Job{Type: "passes", Queue: queue}))
		}
		started := make(chan int64, 2*n)
		release := make(chan struct{})
		var releaseOnce sync.Once
		releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
		defer releaseAll()
		var mu sync.Mutex
		runs := map[int64]int{}
		second := make(chan error, n)
		block := func(j *gue.Job) int {
			mu.Lock()
			runs[j.ID]++
			r := runs[j.ID]
			mu.Unlock()
			if r == 1 {
				started <- j.ID
				<-release
			}
			return r
		}
		p := gue.NewWorkerPool(c, gue.WorkMap{
			"fails": func(j *gue.Job) error {
				if block(j) == 1 {
					return errors.New("failed before seeing the cancellation")
				}
				// The retried run: a request left over from the first run
				// would cancel it within cancelCheck (half a second); four
				// times that without one is the run's answer.
				select {
				case <-j.Context().Done():
					second <- context.Cause(j.Context())
					return j.Context().Err()
				case <-time.After(2 * time.Second):
					second <- nil
					return nil
				}
			},
			"passes": func(j *gue.Job) error { block(j); return nil },
		}, 2*n, gue.WithPoolQueue(queue), gue.WithPoolListen(mode.listen), gue.WithPoolPollInterval(20*time.Millisecond),
			gue.WithPoolBatchSize(mode.batch))
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		stopped := make(chan error, 1)
		go func() { stopped <- p.Run(ctx) }()
		for i := 0; i < 2*n; i++ {
			select {
			case <-started:
			case <-time.After(time.Minute):
				t.Fatalf("%s: %d of %d jobs started within a minute", queue, i, 2*n)
			}
		}
		for _, j := range append(append([]*gue.Job{}, fails...), passes...) {
			if err := c.Cancel(e.ctx, queue, j.ID); !errors.Is(err, gue.ErrJobRunning) {
				t.Errorf("%s: Cancel of running job %d = %v; want ErrJobRunning", queue, j.ID, err)
			}
		}
		releaseAll()
		waitFor(t, "the first runs' ends", func() bool {
			return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, queue) == 0
		})
		if n := e.count(`SELECT count(*) FROM gue_jobs_cancel WHERE queue = $1`, queue); n != 0 {
			t.Errorf("%s: %d cancellation requests outlived their jobs' runs", queue, n)
		}
		maxAttempts := 0
		for _, j := range fails {
			r, _, _ := e.dead(queue, j.ID)
			if r == gue.ReasonMaxAttempts {
				maxAttempts++
			}
			if r != gue.ReasonMaxAttempts && r != gue.ReasonCancelled {
				t.Fatalf("%s: failed job %d dead with reason %q; want %s or %s", queue, j.ID, r, gue.ReasonMaxAttempts, gue.ReasonCancelled)
			}
			if err := c.RetryDead(e.ctx, queue, j.ID); err != nil {
				t.Fatalf("%s: RetryDead(%d): %v", queue, j.ID, err)
			}
		}
		t.Logf("%s: %d of %d failing jobs died of max_attempts before their worker saw the request", queue, maxAttempts, n)
		for i := 0; i < n; i++ {
			select {
			case cause := <-second:
				if cause != nil {
					t.Errorf("%s: a retried dead job was cancelled by its previous run's request (cause %v)", queue, cause)
				}
			case <-time.After(time.Minute):
				t.Fatalf("%s: %d of %d retried jobs ran within a minute", queue, i, n)
			}
		}
		waitFor(t, "the retried runs' ends", func() bool {
			return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, queue) == 0
		})
		for _, j := range fails {
			if r, _, _ := e.dead(queue, j.ID); r != "" {
				t.Errorf("%s: retried job %d died again (%s)", queue, j.ID, r)
			}
		}
		cancel()
		if err := <-stopped; err != nil {
			t.Error(err)
		}
	}
}
