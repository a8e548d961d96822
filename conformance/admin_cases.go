package conformance

import (
	"errors"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

// adminCases is the suite's Admin group: the admin API (ListJobs, GetJob,
// FindJob, RetryJob, DeleteJob, Stats, Queues, Pools, Throughput) and the
// pool registry behind it.
var adminCases = []testCase{
	{"ListJobsByStateAndPages", testAdminListJobs},
	{"GetAndFindJob", testAdminGetAndFindJob},
	{"ListJobsReadsNoArgs", testAdminListJobsReadsNoArgs},
	{"RetryAndDeleteJob", testAdminRetryAndDeleteJob},
	{"StatsCountEachState", testAdminStats},
	{"PoolRegistry", testAdminPoolRegistry},
	{"ActOnJobsCountsEachOutcome", testAdminActOnJobs},
	{"RefusesTextNoJobCanHave", testAdminRefusesTextNoJobCanHave},
}

func testAdminActOnJobs(t *testing.T, e *env) {
	c := e.client()
	queued := e.enqueue(c, &gue.Job{Type: "t", Queue: "q"})
	held := e.enqueue(c, &gue.Job{Type: "t", Queue: "q", Priority: -1})
	locked := e.lock(c, "q")
	if locked == nil || locked.ID != held.ID {
		t.Fatalf("locked %+v, want job %d", locked, held.ID)
	}
	defer func() { _ = locked.Done(e.ctx) }()
	refs := []gue.JobRef{{Queue: "q", ID: queued.ID}, {Queue: "q", ID: held.ID}, {Queue: "q", ID: 1 << 40}}
	var progress []int
	res, err := c.ActOnJobs(e.ctx, gue.ActionDelete, refs, func(n int) { progress = append(progress, n) })
	if err != nil || res.Done != 1 || res.Running != 1 || res.Missing != 1 || res.Failed != 0 || len(progress) != 3 {
		t.Errorf("ActOnJobs(delete) = %+v, %v, progress %v; want 1 done, 1 running, 1 missing", res, err, progress)
	}
	if _, err := c.ActOnJobs(e.ctx, "explode", refs, nil); err == nil {
		t.Error("an unknown action was accepted")
	}
	// Any queue a job can have round-trips (one with a NUL byte cannot
	// exist: RefusesTextNoJobCanHave).
	ref, err := gue.ParseCursor(gue.JobRef{Queue: "a\"b/é ∑=", ID: 7}.Cursor())
	if err != nil || ref.Queue != "a\"b/é ∑=" || ref.ID != 7 {
		t.Errorf("cursor round trip = %+v, %v", ref, err)
	}
	if _, err := gue.ParseCursor("not a cursor"); err == nil {
		t.Error("a bad cursor parsed")
	}
}

// seedStates enqueues, in queue q, 3 ready jobs, 2 scheduled, 1 retrying
// and 1 dead, and returns the dead job.
func (e *env) seedStates(c *gue.Client, q string) *gue.Job {
	e.t.Helper()
	for range 3 {
		e.enqueue(c, &gue.Job{Type: "r", Queue: q})
	}
	for range 2 {
		e.enqueue(c, &gue.Job{Type: "s", Queue: q, RunAt: time.Now().Add(time.Hour)})
	}
	retrying := e.enqueue(c, &gue.Job{Type: "f", Queue: q, RunAt: time.Now().Add(time.Hour)})
	e.exec(`UPDATE gue_jobs SET error_count = 2, last_error = 'boom' WHERE queue = $1 AND job_id = $2`, q, retrying.ID)
	dead := e.enqueue(c, &gue.Job{Type: "d", Queue: q, Args: []byte(`{"n": 1}`)})
	if err := c.Cancel(e.ctx, q, dead.ID); err != nil {
		e.t.Fatal(err)
	}
	return dead
}

func testAdminListJobs(t *testing.T, e *env) {
	c := e.client()
	e.seedStates(c, "a")
	e.seedStates(c, "b")
	for state, want := range map[gue.JobState]int{"": 12, gue.StateReady: 6, gue.StateScheduled: 4, gue.StateRetrying: 2, gue.StateDead: 2, gue.StateRunning: 0} {
		page, err := c.ListJobs(e.ctx, gue.JobFilter{State: state})
		if err != nil {
			t.Fatalf("state %q: %v", state, err)
		}
		if len(page.Jobs) != want || page.Next != nil {
			t.Errorf("state %q: %d jobs (next %v), want %d", state, len(page.Jobs), page.Next, want)
		}
		for _, j := range page.Jobs {
			if state != "" && j.State != state {
				t.Errorf("state %q listed job %d in state %q", state, j.ID, j.State)
			}
		}
	}
	page, err := c.ListJobs(e.ctx, gue.JobFilter{Queue: "b", QueueSet: true, Type: "s"})
	if err != nil || len(page.Jobs) != 2 || page.Jobs[0].Queue != "b" || page.Jobs[0].Type != "s" {
		t.Errorf("queue b, type s: %+v, %v", page, err)
	}
	// Pages of 5 through the 12 live jobs: every job once, in (queue, ID) order.
	seen := map[int64]bool{}
	var after *gue.JobRef
	var last gue.JobRef
	pages := 0
	for {
		page, err := c.ListJobs(e.ctx, gue.JobFilter{Limit: 5, After: after})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, j := range page.Jobs {
			if seen[j.ID] || j.Queue < last.Queue || (j.Queue == last.Queue && j.ID <= last.ID) {
				t.Errorf("job %d/%s out of order or twice", j.ID, j.Queue)
			}
			seen[j.ID], last = true, gue.JobRef{Queue: j.Queue, ID: j.ID}
		}
		if page.Next == nil {
			break
		}
		after = page.Next
	}
	if len(seen) != 12 || pages != 3 {
		t.Errorf("paging saw %d jobs in %d pages; want 12 in 3", len(seen), pages)
	}
	if _, err := c.ListJobs(e.ctx, gue.JobFilter{State: "lost"}); err == nil {
		t.Error("an unknown state listed jobs")
	}
}

func testAdminGetAndFindJob(t *testing.T, e *env) {
	c := e.client()
	dead := e.seedStates(c, "q")
	j, err := c.GetJob(e.ctx, "q", dead.ID)
	if err != nil || j.State != gue.StateDead || j.Reason != gue.ReasonCancelled || j.DiedAt == nil || string(j.Args) != `{"n": 1}` {
		t.Fatalf("GetJob(dead) = %+v, %v", j, err)
	}
	live := e.enqueue(c, &gue.Job{Type: "x", Queue: "other", Metadata: map[string]string{"k": "<v>"}, UniqueKey: "u"})
	f, err := c.FindJob(e.ctx, live.ID)
	if err != nil || f.Queue != "other" || f.State != gue.StateReady || f.Metadata["k"] != "<v>" || f.UniqueKey != "u" {
		t.Errorf("FindJob = %+v, %v", f, err)
	}
	if _, err := c.GetJob(e.ctx, "q", live.ID); !errors.Is(err, gue.ErrJobNotFound) {
		t.Errorf("GetJob with the wrong queue = %v; want ErrJobNotFound", err)
	}
	if _, err := c.FindJob(e.ctx, 1<<40); !errors.Is(err, gue.ErrJobNotFound) {
		t.Errorf("FindJob of an unknown ID = %v; want ErrJobNotFound", err)
	}
}

func testAdminRetryAndDeleteJob(t *testing.T, e *env) {
	c := e.client()
	dead := e.seedStates(c, "q")
	scheduled := e.enqueue(c, &gue.Job{Type: "s", Queue: "q", RunAt: time.Now().Add(time.Hour)})
	for _, id := range []int64{dead.ID, scheduled.ID} {
		if err := c.RetryJob(e.ctx, "q", id); err != nil {
			t.Fatalf("RetryJob(%d): %v", id, err)
		}
		if j, err := c.GetJob(e.ctx, "q", id); err != nil || j.State != gue.StateReady {
			t.Errorf("job %d after RetryJob: %+v, %v; want ready", id, j, err)
		}
	}
	held := e.lock(c, "q")
	defer func() { _ = held.Done(e.ctx) }()
	if err := c.RetryJob(e.ctx, "q", held.ID); !errors.Is(err, gue.ErrJobRunning) {
		t.Errorf("RetryJob of a locked job = %v; want ErrJobRunning", err)
	}
	if err := c.DeleteJob(e.ctx, "q", held.ID); !errors.Is(err, gue.ErrJobRunning) {
		t.Errorf("DeleteJob of a locked job = %v; want ErrJobRunning", err)
	}
	if err := c.DeleteJob(e.ctx, "q", scheduled.ID); err != nil {
		t.Error(err)
	}
	if err := c.DeleteJob(e.ctx, "q", scheduled.ID); !errors.Is(err, gue.ErrJobNotFound) {
		t.Errorf("DeleteJob twice = %v; want ErrJobNotFound", err)
	}
	if err := c.RetryJob(e.ctx, "nope", 1<<40); !errors.Is(err, gue.ErrJobNotFound) {
		t.Errorf("RetryJob of an unknown job = %v; want ErrJobNotFound", err)
	}
	// A dead job can be deleted too.
	again := e.enqueue(c, &gue.Job{Type: "d", Queue: "q"})
	if err := c.Cancel(e.ctx, "q", again.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteJob(e.ctx, "q", again.ID); err != nil {
		t.Error(err)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs_dead WHERE job_id = $1`, again.ID); n != 0 {
		t.Error("the dead job was not deleted")
	}
}

func testAdminStats(t *testing.T, e *env) {
	c := e.client()
	e.seedStates(c, "a")
	if err := c.PauseQueue(e.ctx, "p"); err != nil {
		t.Fatal(err)
	}
	queues, err := c.Queues(e.ctx)
	if err != nil || len(queues) != 2 || queues[0] != "a" || queues[1] != "p" {
		t.Fatalf("Queues = %v, %v; want [a p]", queues, err)
	}
	stats, err := c.Stats(e.ctx, gue.StatsOptions{})
	if err != nil || len(stats) != 2 {
		t.Fatalf("Stats = %+v, %v", stats, err)
	}
	one, err := c.Stats(e.ctx, gue.StatsOptions{OneStatement: true})
	if err != nil || len(one) != 2 || one[0].Ready != stats[0].Ready || one[0].Scheduled != stats[0].Scheduled ||
		one[0].Retrying != stats[0].Retrying || one[0].Dead != stats[0].Dead || one[1].Paused != stats[1].Paused {
		t.Errorf("Stats in one statement = %+v, %v; want the counts of one statement per queue %+v", one, err, stats)
	}
	a, p := stats[0], stats[1]
	if a.Queue != "a" || a.Ready != 3 || a.Scheduled != 2 || a.Retrying != 1 || a.Dead != 1 || a.Running != 0 || a.Paused || a.OldestReadyAge <= 0 {
		t.Errorf("stats of a = %+v", a)
	}
	if p.Queue != "p" || !p.Paused || p.Ready != 0 {
		t.Errorf("stats of p = %+v", p)
	}
	capped, err := c.Stats(e.ctx, gue.StatsOptions{Queues: []string{"a"}, Cap: 2})
	if err != nil || len(capped) != 1 || capped[0].Ready != 2 || capped[0].Scheduled < 1 || !capped[0].Capped {
		t.Errorf("capped stats = %+v, %v", capped, err)
	}
}

// A running pool registers itself with its jobs in flight; the stats count
// them as running and its finished runs in the throughput; a stopped pool
// removes its row.
func testAdminPoolRegistry(t *testing.T, e *env) {
	c := e.client()
	for range 3 {
		e.enqueue(c, &gue.Job{Type: "ok", Queue: "reg"})
	}
	slow := e.enqueue(c, &gue.Job{Type: "slow", Queue: "reg", Priority: 10})
	release := make(chan struct{})
	p := gue.NewWorkerPool(c, gue.WorkMap{
		"ok":   func(*gue.Job) error { return nil },
		"slow": func(*gue.Job) error { <-release; return nil },
	}, 2, gue.WithPoolQueues("reg", "reg-2"), gue.WithPoolID("pool-<1>"), gue.WithPoolPollInterval(20*time.Millisecond))
	done := make(chan struct{})
	go func() {
		defer close(done)
		waitFor(t, "a heartbeat with the slow job in flight", func() bool {
			pools, err := c.Pools(e.ctx)
			return err == nil && len(pools) == 1 && len(pools[0].InFlight) == 1
		})
		pools, _ := c.Pools(e.ctx)
		got := pools[0]
		if got.ID != "pool-<1>" || got.Workers != 2 || len(got.Queues) != 2 || got.Queues[1] != "reg-2" || got.PID == 0 || got.Host == "" ||
			got.InFlight[0] != (gue.JobRef{Queue: "reg", ID: slow.ID}) || got.Worked != 3 {
			t.Errorf("registered pool = %+v", got)
		}
		if j, err := c.GetJob(e.ctx, "reg", slow.ID); err != nil || j.State != gue.StateRunning {
			t.Errorf("the slow job = %+v, %v; want running", j, err)
		}
		stats, err := c.Stats(e.ctx, gue.StatsOptions{Queues: []string{"reg"}})
		if err != nil || stats[0].Running != 1 || stats[0].Ready != 0 {
			t.Errorf("stats = %+v, %v; want 1 running, 0 ready", stats, err)
		}
		page, err := c.ListJobs(e.ctx, gue.JobFilter{State: gue.StateRunning})
		if err != nil || len(page.Jobs) != 1 || page.Jobs[0].ID != slow.ID {
			t.Errorf("running jobs = %+v, %v", page, err)
		}
		tp, err := c.Throughput(e.ctx, time.Hour)
		var worked int64
		for _, pt := range tp {
			worked += pt.Worked
		}
		if err != nil || worked != 3 {
			t.Errorf("throughput = %+v, %v; want 3 worked", tp, err)
		}
		close(release)
	}()
	runPoolUntil(t, p, done)
	if pools, err := c.Pools(e.ctx); err != nil || len(pools) != 0 {
		t.Errorf("pools after the pool stopped = %+v, %v; want none", pools, err)
	}
	tp, err := c.Throughput(e.ctx, time.Hour)
	var worked int64
	for _, pt := range tp {
		worked += pt.Worked
	}
	if err != nil || worked != 4 {
		t.Errorf("throughput after stop = %+v, %v; want the 4 runs", tp, err)
	}
}

// ListJobs leaves every job's args out (a page of large ones took seconds);
// GetJob and FindJob still read them, of live and dead jobs alike.
func testAdminListJobsReadsNoArgs(t *testing.T, e *env) {
	c := e.client()
	dead := e.seedStates(c, "q")
	const args = `{"to":"ann@example.com","body":"hello"}`
	live := e.enqueue(c, &gue.Job{Type: "t", Queue: "q", Args: []byte(args)})
	for _, state := range []gue.JobState{"", gue.StateReady, gue.StateDead} {
		page, err := c.ListJobs(e.ctx, gue.JobFilter{State: state})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Jobs) == 0 {
			t.Fatalf("state %q: no jobs listed", state)
		}
		for _, j := range page.Jobs {
			if j.Args != nil {
				t.Errorf("state %q: ListJobs read job %d's args (%s); want nil", state, j.ID, j.Args)
			}
		}
	}
	got, err := c.GetJob(e.ctx, "q", live.ID)
	if err != nil || string(got.Args) != args {
		t.Errorf("GetJob's args = %s, %v; want %s", got.Args, err, args)
	}
	if got, err := c.FindJob(e.ctx, live.ID); err != nil || string(got.Args) != args {
		t.Errorf("FindJob's args = %v, %v; want %s", got, err, args)
	}
	if got, err := c.GetJob(e.ctx, "q", dead.ID); err != nil || len(got.Args) == 0 {
		t.Errorf("GetJob of a dead job: args %v, %v; want them read", got, err)
	}
}

// A queue or type with a NUL byte or invalid UTF-8 can name no job: the
// admin API says so with ErrInvalidType, the same on every driver, instead
// of sending it and passing on each driver's own encoding error.
func testAdminRefusesTextNoJobCanHave(t *testing.T, e *env) {
	c := e.client()
	j := e.enqueue(c, &gue.Job{Type: "t", Queue: "q"})
	for _, bad := range []string{"q\x00", "caf\xe9"} {
		calls := map[string]error{}
		_, calls["ListJobs queue"] = c.ListJobs(e.ctx, gue.JobFilter{Queue: bad, QueueSet: true})
		_, calls["ListJobs type"] = c.ListJobs(e.ctx, gue.JobFilter{Type: bad})
		_, calls["ListJobs after"] = c.ListJobs(e.ctx, gue.JobFilter{After: &gue.JobRef{Queue: bad, ID: 1}})
		_, calls["GetJob"] = c.GetJob(e.ctx, bad, j.ID)
		calls["RetryJob"] = c.RetryJob(e.ctx, bad, j.ID)
		calls["DeleteJob"] = c.DeleteJob(e.ctx, bad, j.ID)
		calls["Cancel"] = c.Cancel(e.ctx, bad, j.ID)
		calls["RetryDead"] = c.RetryDead(e.ctx, bad, j.ID)
		_, calls["PurgeDead"] = c.PurgeDead(e.ctx, bad, 0)
		calls["PauseQueue"] = c.PauseQueue(e.ctx, bad)
		calls["ResumeQueue"] = c.ResumeQueue(e.ctx, bad)
		_, calls["Stats"] = c.Stats(e.ctx, gue.StatsOptions{Queues: []string{"q", bad}})
		if bad == "q\x00" { // a cursor is JSON: invalid UTF-8 arrives as U+FFFD
			_, calls["ParseCursor"] = gue.ParseCursor(gue.JobRef{Queue: bad, ID: 1}.Cursor())
		}
		for name, err := range calls {
			if !errors.Is(err, gue.ErrInvalidType) {
				t.Errorf("%s(%q) = %v; want ErrInvalidType", name, bad, err)
			}
		}
	}
	// Nothing was touched, and the same calls with a good queue work.
	if _, err := c.GetJob(e.ctx, "q", j.ID); err != nil {
		t.Errorf("GetJob after the refused calls: %v", err)
	}
	if page, err := c.ListJobs(e.ctx, gue.JobFilter{Queue: "q", QueueSet: true, Type: "t"}); err != nil || len(page.Jobs) != 1 {
		t.Errorf("ListJobs(q, t) = %+v, %v; want the one job", page, err)
	}
	if err := c.PauseQueue(e.ctx, "q"); err != nil {
		t.Errorf("PauseQueue(q): %v", err)
	}
}
