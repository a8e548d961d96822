package gue

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// slowNextDuePool answers the look-ahead's statement after a delay, with
// the database's now() read at the end of it, as on a loaded server where a
// statement waits before it runs: the job is due 100ms after that now().
type slowNextDuePool struct {
	fakePool
	delay time.Duration
	err   error
	calls int
}

type nextDueRow struct {
	next, now time.Time
	err       error
}

func (r nextDueRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	*dest[0].(*sql.NullTime) = sql.NullTime{Time: r.next, Valid: true}
	*dest[1].(*time.Time) = r.now
	return nil
}

func (p *slowNextDuePool) QueryRow(context.Context, string, ...any) adapter.Row {
	p.calls++
	time.Sleep(p.delay)
	now := time.Now()
	return nextDueRow{next: now.Add(100 * time.Millisecond), now: now, err: p.err}
}

// The due timer never fires before the job is due by the database's clock,
// however long the look-up took.
func TestLookAheadNeverWakesEarly(t *testing.T) {
	pool := &slowNextDuePool{delay: 300 * time.Millisecond}
	w := NewWorker(NewClient(pool, WithClientLogger(adapter.NoOpLogger{})), WorkMap{}, WithWorkerPollInterval(time.Hour))
	start := time.Now()
	w.r.lockers[0].lookAhead(context.Background())
	dueAt := start.Add(pool.delay + 100*time.Millisecond) // the earliest the job can be due
	select {
	case <-w.due.C():
		if at := time.Now(); at.Before(dueAt) {
			t.Errorf("woken %s before the job was due", dueAt.Sub(at))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the due timer never fired")
	}
}

// A look-up that failed does not count as a look: the next idle round
// tries again instead of waiting half a poll interval.
func TestLookAheadFailureIsTriedAgain(t *testing.T) {
	pool := &slowNextDuePool{err: errors.New("connection refused")}
	w := NewWorker(NewClient(pool, WithClientLogger(adapter.NoOpLogger{})), WorkMap{}, WithWorkerPollInterval(time.Hour))
	w.r.lockers[0].lookAhead(context.Background())
	w.r.lockers[0].lookAhead(context.Background())
	if pool.calls != 2 {
		t.Errorf("%d look-ups after a failure; want 2", pool.calls)
	}
	pool.err = nil
	w.r.lockers[0].lookAhead(context.Background())
	w.r.lockers[0].lookAhead(context.Background()) // control: a look that worked paces the next
	if pool.calls != 3 {
		t.Errorf("%d look-ups; want 3 (the fourth within the pace)", pool.calls)
	}
}
