package conformance

import (
	"errors"
	"sync"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

// periodicCases is the suite's Periodic group: WithPoolPeriodic,
// ListPeriodic and DeletePeriodic.
var periodicCases = []testCase{
	{"OneJobPerTickAcrossPools", testPeriodicOneJobPerTickAcrossPools},
	{"MissedTicksRunOnce", testPeriodicMissedTicksRunOnce},
	{"ScheduleChangedToTickSooner", testPeriodicScheduleChangedToTickSooner},
	{"BadJobSkipsTick", testPeriodicBadJobSkipsTick},
	{"ListAndDelete", testPeriodicListAndDelete},
	{"ScheduleSeesUTC", testPeriodicScheduleSeesUTC},
}

// hourlyInZone ticks on the hour of the zone of the time it is given, as a
// cron spec without CRON_TZ does; it records the zones it was given.
type hourlyInZone struct {
	mu    sync.Mutex
	zones []*time.Location
}

func (h *hourlyInZone) Next(t time.Time) time.Time {
	h.mu.Lock()
	h.zones = append(h.zones, t.Location())
	h.mu.Unlock()
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, t.Location())
}

// A Schedule is given the database's clock in UTC, whatever the driver,
// the session's TimeZone or time.Local: processes on different drivers or
// in different zones agree on every tick of a wall-clock schedule. Here the
// session's TimeZone is Asia/Kolkata (UTC+05:30), whose hours begin at
// half past UTC's.
func testPeriodicScheduleSeesUTC(t *testing.T, e *env) {
	e.exec(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET TimeZone = %L', current_database(), 'Asia/Kolkata'); END $$`)
	pool := e.open(t, e.dsn) // new sessions take the setting
	c := gue.NewClient(pool)
	sched := &hourlyInZone{}
	p := gue.NewWorkerPool(c, gue.WorkMap{}, 1, gue.WithPoolQueue("zoned"), gue.WithPoolPeriodic("zoned", sched, func() *gue.Job { return &gue.Job{Type: "z"} }))
	done := make(chan struct{})
	go func() {
		waitFor(t, "the schedule's row", func() bool {
			return e.count(`SELECT count(*) FROM gue_periodic WHERE name = 'zoned'`) == 1
		})
		close(done)
	}()
	runPoolUntil(t, p, done)
	if n := e.count(`SELECT count(*) FROM gue_periodic WHERE name = 'zoned' AND extract(minute FROM next_run_at AT TIME ZONE 'UTC') = 0`); n != 1 {
		t.Error("the next run is not on a UTC hour: the schedule computed in the session's zone")
	}
	sched.mu.Lock()
	defer sched.mu.Unlock()
	if len(sched.zones) == 0 {
		t.Fatal("Next was never called")
	}
	for _, z := range sched.zones {
		if z != time.UTC {
			t.Errorf("Next was given a time in %v; want UTC", z)
		}
	}
}

// Three pools (two in default mode, one in batch mode) declare one
// schedule: each tick enqueues one job, into the pools' queue.
func testPeriodicOneJobPerTickAcrossPools(t *testing.T, e *env) {
	const tick = 200 * time.Millisecond
	var mu sync.Mutex
	ticks := map[string]int{}
	work := gue.WorkMap{"report": func(j *gue.Job) error {
		mu.Lock()
		defer mu.Unlock()
		if j.Metadata[gue.MetaPeriodic] != "report" || j.Queue != "periodic" {
			t.Errorf("job %d: queue %q, metadata %v; want queue periodic and the schedule's name", j.ID, j.Queue, j.Metadata)
		}
		ticks[j.Metadata[gue.MetaPeriodicTick]]++
		return nil
	}}
	pools := make([]*gue.WorkerPool, 3)
	for i := range pools {
		c := e.client()
		pools[i] = gue.NewWorkerPool(c, work, 2, gue.WithPoolQueue("periodic"), gue.WithPoolBatchSize(map[int]int{2: 5}[i]),
			gue.WithPoolPollInterval(20*time.Millisecond),
			gue.WithPoolPeriodic("report", gue.Every(tick), func() *gue.Job { return &gue.Job{Type: "report"} }))
	}
	done := make(chan struct{})
	go func() {
		waitFor(t, "eight ticks' jobs worked", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(ticks) >= 8
		})
		close(done)
	}()
	var wg sync.WaitGroup
	for _, p := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runPoolUntil(t, p, done)
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for at, n := range ticks {
		if n != 1 {
			t.Errorf("tick %s: %d jobs, want 1", at, n)
		}
		ts, err := time.Parse(time.RFC3339Nano, at)
		if err != nil || ts.Truncate(tick) != ts {
			t.Errorf("tick %q is not a multiple of %s (%v)", at, tick, err)
		}
	}
	enqueued := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'periodic'`) + int64(len(ticks))
	if n := e.count(`SELECT count(*) FROM (SELECT metadata->>'gue-periodic-tick' FROM gue_jobs GROUP BY 1) x`) + int64(len(ticks)); n != enqueued {
		t.Errorf("%d jobs for %d distinct ticks", enqueued, n)
	}
}

// A tick missed while no pool ran (an hour ago, by the row) runs once.
func testPeriodicMissedTicksRunOnce(t *testing.T, e *env) {
	c := e.client()
	e.exec(`INSERT INTO gue_periodic (name, next_run_at) VALUES ('hourly', now() - interval '5 hours')`)
	for _, m := range modes {
		p := gue.NewWorkerPool(c, gue.WorkMap{}, 1, gue.WithPoolQueue("never-worked-"+m.name), gue.WithPoolBatchSize(m.batch),
			gue.WithPoolPeriodic("hourly", gue.Every(time.Hour), func() *gue.Job { return &gue.Job{Type: "h"} }))
		done := make(chan struct{})
		go func() {
			waitFor(t, "the schedule's look", func() bool {
				return e.count(`SELECT count(*) FROM gue_periodic WHERE name = 'hourly' AND next_run_at > now()`) == 1
			})
			close(done)
		}()
		runPoolUntil(t, p, done)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_type = 'h'`); n != 1 {
		t.Errorf("%d jobs for five missed hourly ticks; want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM gue_periodic p JOIN gue_jobs j ON j.queue = p.last_queue AND j.job_id = p.last_job_id
WHERE p.next_run_at <= now() + interval '1 hour' AND p.last_run_at IS NOT NULL`); n != 1 {
		t.Errorf("the row does not record the job and the next hour: %d", n)
	}
}

// A row recorded for a far tick moves to the schedule's sooner one.
func testPeriodicScheduleChangedToTickSooner(t *testing.T, e *env) {
	c := e.client()
	e.exec(`INSERT INTO gue_periodic (name, next_run_at) VALUES ('changed', now() + interval '1 day')`)
	p := gue.NewWorkerPool(c, gue.WorkMap{"c": func(*gue.Job) error { return nil }}, 1, gue.WithPoolQueue("changed"),
		gue.WithPoolPollInterval(20*time.Millisecond),
		gue.WithPoolPeriodic("changed", gue.Every(100*time.Millisecond), func() *gue.Job { return &gue.Job{Type: "c"} }))
	done := make(chan struct{})
	go func() {
		waitFor(t, "a job of the changed schedule", func() bool {
			return e.count(`SELECT count(*) FROM gue_periodic WHERE name = 'changed' AND last_job_id IS NOT NULL`) == 1
		})
		close(done)
	}()
	runPoolUntil(t, p, done)
	if n := e.count(`SELECT count(*) FROM gue_periodic WHERE name = 'changed' AND next_run_at < now() + interval '1 hour'`); n != 1 {
		t.Error("the row still waits for the old schedule's tick")
	}
}

// A job func returning an invalid job, nil, or panicking skips its tick;
// the schedule goes on.
func testPeriodicBadJobSkipsTick(t *testing.T, e *env) {
	c := e.client()
	var mu sync.Mutex
	calls := 0
	p := gue.NewWorkerPool(c, gue.WorkMap{"ok": func(*gue.Job) error { return nil }}, 1, gue.WithPoolQueue("bad-periodic"),
		gue.WithPoolPollInterval(20*time.Millisecond),
		gue.WithPoolPeriodic("bad", gue.Every(100*time.Millisecond), func() *gue.Job {
			mu.Lock()
			defer mu.Unlock()
			calls++
			switch calls {
			case 1:
				return &gue.Job{} // no Type
			case 2:
				return nil
			case 3:
				panic("boom")
			}
			return &gue.Job{Type: "ok", Args: []byte(`{"n": 4}`)}
		}))
	done := make(chan struct{})
	go func() {
		waitFor(t, "a good tick after the bad ones", func() bool {
			return e.count(`SELECT count(*) FROM gue_periodic WHERE name = 'bad' AND last_job_id IS NOT NULL`) == 1
		})
		close(done)
	}()
	runPoolUntil(t, p, done)
	mu.Lock()
	defer mu.Unlock()
	if calls < 4 {
		t.Errorf("job func called %d times; want at least 4", calls)
	}
}

func testPeriodicListAndDelete(t *testing.T, e *env) {
	c := e.client()
	if got, err := c.ListPeriodic(e.ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListPeriodic on an empty table = %v, %v", got, err)
	}
	e.exec(`INSERT INTO gue_periodic (name, next_run_at, last_run_at, last_job_id, last_queue)
VALUES ('b', '2030-01-01T00:00:00Z', '2029-12-31T23:00:00Z', 7, 'q'), ('a', '2030-01-01T01:00:00Z', NULL, NULL, NULL)`)
	got, err := c.ListPeriodic(e.ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("ListPeriodic = %+v, %v", got, err)
	}
	a, b := got[0], got[1]
	if a.Name != "a" || !a.LastRunAt.IsZero() || a.LastJobID != 0 || !a.NextRunAt.Equal(time.Date(2030, 1, 1, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("row a = %+v", a)
	}
	if b.Name != "b" || b.LastJobID != 7 || b.LastQueue != "q" || !b.LastRunAt.Equal(time.Date(2029, 12, 31, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("row b = %+v", b)
	}
	if err := c.DeletePeriodic(e.ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeletePeriodic(e.ctx, "a"); !errors.Is(err, gue.ErrPeriodicNotFound) {
		t.Errorf("DeletePeriodic of a deleted name = %v; want ErrPeriodicNotFound", err)
	}
	if err := c.DeletePeriodic(e.ctx, ""); !errors.Is(err, gue.ErrInvalidSchedule) {
		t.Errorf("DeletePeriodic(\"\") = %v; want ErrInvalidSchedule", err)
	}
	if n := e.count(`SELECT count(*) FROM gue_periodic`); n != 1 {
		t.Errorf("%d rows left; want 1", n)
	}
}
