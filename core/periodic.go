package gue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// Schedule tells when a periodic job runs next: Next returns the first
// tick strictly after t. It is called with the database's clock in UTC,
// whatever the driver, the session's TimeZone or time.Local, so every
// process agrees on each tick. The Schedule of github.com/robfig/cron/v3
// (from cron.ParseStandard("*/5 * * * *"), say) satisfies it as it is; a
// wall-clock spec such as "0 9 * * *" therefore means 09:00 UTC unless it
// names its zone: "CRON_TZ=Europe/Berlin 0 9 * * *".
type Schedule interface {
	Next(t time.Time) time.Time
}

// Every returns a Schedule that ticks every d, on the multiples of d
// counted from time.Time's zero (for d dividing a day: on the hour,
// minute, second...), so that every process computes the same ticks. A d
// that is not positive never advances, which WorkerPool.Run reports as
// ErrInvalidSchedule.
func Every(d time.Duration) Schedule { return every(d) }

type every time.Duration

func (e every) Next(t time.Time) time.Time {
	d := time.Duration(e)
	if d <= 0 {
		return t
	}
	return t.Truncate(d).Add(d)
}

// Metadata keys set on the jobs that periodic schedules enqueue.
const (
	// MetaPeriodic is the name of the schedule that enqueued the job.
	MetaPeriodic = "gue-periodic"
	// MetaPeriodicTick is the tick the job is for, RFC 3339 with
	// nanoseconds in UTC: no two jobs of one schedule have the same.
	MetaPeriodicTick = "gue-periodic-tick"
)

// periodic is one schedule a pool declares.
type periodic struct {
	name  string
	sched Schedule
	job   func() *Job
}

// checkPeriodic reports a declared schedule a pool cannot run.
func checkPeriodic(ps []periodic, now time.Time) error {
	now = now.UTC() // as tick gives it: see Schedule
	seen := make(map[string]bool, len(ps))
	for _, p := range ps {
		switch {
		case p.name == "":
			return fmt.Errorf("%w: empty name", ErrInvalidSchedule)
		case seen[p.name]:
			return fmt.Errorf("%w: name %q declared twice", ErrInvalidSchedule, p.name)
		case p.sched == nil:
			return fmt.Errorf("%w: %q has a nil Schedule", ErrInvalidSchedule, p.name)
		case p.job == nil:
			return fmt.Errorf("%w: %q has a nil job func", ErrInvalidSchedule, p.name)
		case !p.sched.Next(now).After(now):
			return fmt.Errorf("%w: the Schedule of %q does not advance (Next(%s) = %s)",
				ErrInvalidSchedule, p.name, now.Format(time.RFC3339), p.sched.Next(now).Format(time.RFC3339))
		}
		seen[p.name] = true
	}
	return nil
}

// Periodic schedule loop timings.
const (
	// periodicRecheck bounds the wait between two looks at a schedule's
	// row: a row moved by another process (a schedule changed to tick
	// sooner) or deleted is seen within it.
	periodicRecheck = time.Minute
	// periodicRetry is the wait after a look that failed.
	periodicRetry = time.Second
	// periodicStuck is how far a Schedule whose Next stopped advancing is
	// pushed, so that it does not spin.
	periodicStuck = time.Minute
)

// runPeriodic runs the pool's schedules until ctx is done: it looks at each
// when it is due by the database's clock, and sleeps until the next one.
func (p *WorkerPool) runPeriodic(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		wait := periodicRecheck
		for _, s := range p.periodic {
			d, err := p.tick(ctx, s)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				p.logger.Error("periodic job: could not look at its schedule; trying again in a second",
					adapter.F("periodic", s.name), adapter.Err(err))
				d = periodicRetry
			}
			wait = min(wait, d)
		}
		timer.Reset(max(wait, time.Millisecond))
	}
}

// tick looks at schedule s in one transaction: it records s if new, locks
// its row, and when the row's next run has passed by the database's clock,
// enqueues s's job and moves the next run to the first tick after now. It
// returns how long until the next run.
func (p *WorkerPool) tick(ctx context.Context, s periodic) (time.Duration, error) {
	c := p.c
	if c.err != nil {
		return 0, c.err
	}
	stmts := c.stmts
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var now time.Time
	if err := tx.QueryRow(ctx, stmts.PeriodicClock).Scan(&now); err != nil {
		return 0, notMigrated(c.schema, err)
	}
	if _, err := tx.Exec(ctx, stmts.PeriodicAdd, s.name, p.nextOf(s, now)); err != nil {
		return 0, notMigrated(c.schema, err)
	}
	var next time.Time
	if err := tx.QueryRow(ctx, stmts.PeriodicLock, s.name).Scan(&next); err != nil {
		return 0, err
	}
	// Waiting for the lock takes time: read the clock again.
	if err := tx.QueryRow(ctx, stmts.PeriodicClock).Scan(&now); err != nil {
		return 0, err
	}
	after := p.nextOf(s, now)
	switch {
	case next.After(now) && !after.Before(next):
		after = next // not due; another process ran this tick
	case next.After(now): // the schedule ticks sooner than recorded: it changed
		if _, err := tx.Exec(ctx, stmts.PeriodicMove, s.name, after); err != nil {
			return 0, err
		}
	default:
		var jobID, queue any // NULL: the tick enqueued nothing
		if j := p.periodicJob(ctx, s, next, tx); j != nil {
			jobID, queue = j.ID, j.Queue
		}
		if _, err := tx.Exec(ctx, stmts.PeriodicRan, s.name, after, now, jobID, queue); err != nil {
			return 0, err
		}
	}
	// Committed in every case: the row may be new.
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return after.Sub(now), nil
}

// nextOf is s's next tick after now, pushed by periodicStuck when the
// Schedule stopped advancing.
func (p *WorkerPool) nextOf(s periodic, now time.Time) time.Time {
	// In UTC whatever the driver returned: lib/pq gives the session's
	// TimeZone, pgx time.Local, and a wall-clock Schedule computes in the
	// zone it is given.
	now = now.UTC()
	next := s.sched.Next(now)
	if !next.After(now) {
		p.logger.Error("periodic job: its Schedule does not advance; looking again in a minute",
			adapter.F("periodic", s.name), adapter.F("next", next))
		next = now.Add(periodicStuck)
	}
	return next
}

// periodicJob enqueues s's job for tick in tx, and returns it, or nil when
// the tick enqueues nothing (a nil job, a panic, a job Enqueue refused).
// Errors are logged: a bad job must not stop the schedule.
func (p *WorkerPool) periodicJob(ctx context.Context, s periodic, tick time.Time, tx adapter.Tx) (j *Job) {
	log := p.logger.With(adapter.F("periodic", s.name), adapter.F("tick", tick.UTC()))
	defer func() {
		if r := recover(); r != nil {
			log.Error("periodic job: its job func panicked; tick skipped", adapter.F("panic", fmt.Sprint(r)))
			j = nil
		}
	}()
	j = s.job()
	if j == nil {
		log.Debug("periodic job: its job func returned nil; tick skipped")
		return nil
	}
	if j.Queue == "" {
		j.Queue = p.queues[0]
	}
	md := make(map[string]string, len(j.Metadata)+2)
	for k, v := range j.Metadata {
		md[k] = v
	}
	md[MetaPeriodic], md[MetaPeriodicTick] = s.name, tick.UTC().Format(time.RFC3339Nano)
	j.Metadata = md
	if err := p.c.EnqueueTx(ctx, j, tx); err != nil {
		if errors.Is(err, ErrDuplicateJob) {
			log.Info("periodic job: a live job has its unique key; tick skipped", adapter.F("job-id", j.ID))
		} else {
			log.Error("periodic job: could not enqueue its job; tick skipped", adapter.Err(err))
		}
		return nil
	}
	return j
}

// PeriodicJob is the recorded state of a periodic schedule (see
// WithPoolPeriodic).
type PeriodicJob struct {
	// Name is the schedule's name.
	Name string
	// NextRunAt is its next tick, by the database's clock.
	NextRunAt time.Time
	// LastRunAt is when its last tick ran; zero if none ran yet.
	LastRunAt time.Time
	// LastJobID and LastQueue are the job its last tick enqueued; zero and
	// "" if none.
	LastJobID int64
	LastQueue string
}

// ListPeriodic returns every schedule recorded in the Client's schema, by
// name, including those no running pool declares any more.
func (c *Client) ListPeriodic(ctx context.Context) ([]PeriodicJob, error) {
	if c.err != nil {
		return nil, c.err
	}
	rows, err := c.pool.Query(ctx, c.stmts.PeriodicList)
	if err != nil {
		return nil, fmt.Errorf("gue: list periodic jobs: %w", notMigrated(c.schema, err))
	}
	defer rows.Close()
	var out []PeriodicJob
	for rows.Next() {
		var pj PeriodicJob
		var last sql.NullTime
		var id sql.NullInt64
		var queue sql.NullString
		if err := rows.Scan(&pj.Name, &pj.NextRunAt, &last, &id, &queue); err != nil {
			return nil, fmt.Errorf("gue: list periodic jobs: %w", err)
		}
		pj.NextRunAt, pj.LastRunAt, pj.LastJobID, pj.LastQueue = pj.NextRunAt.UTC(), last.Time.UTC(), id.Int64, queue.String
		if !last.Valid {
			pj.LastRunAt = time.Time{}
		}
		out = append(out, pj)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gue: list periodic jobs: %w", err)
	}
	return out, nil
}

// DeletePeriodic removes the recorded state of schedule name, for a name
// that no pool declares any more (a pool that still declares it records it
// again, with its first tick after now). It returns an error wrapping
// ErrPeriodicNotFound when there is no such row.
func (c *Client) DeletePeriodic(ctx context.Context, name string) error {
	if c.err != nil {
		return c.err
	}
	if name == "" {
		return fmt.Errorf("gue: delete periodic job: %w: empty name", ErrInvalidSchedule)
	}
	tag, err := c.pool.Exec(ctx, c.stmts.PeriodicDelete, name)
	if err != nil {
		return fmt.Errorf("gue: delete periodic job %q: %w", name, notMigrated(c.schema, err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("gue: delete periodic job %q: %w", name, ErrPeriodicNotFound)
	}
	return nil
}
