package gue

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/lockplan"
)

// The lock connection's turn that takes jobs: one statement gives back the
// locks of ended jobs and takes new ones, a second, in a new snapshot,
// reads the jobs locked and lets go of those another pool ended meanwhile.

// holdMaker makes the hold of a job locked by lock connection gen, whose
// server session holder names (newSessionHold): the caller's, so that the
// lock connection does not depend on how its jobs end.
type holdMaker func(h held, gen uint64, holder string) hold

// lock locks up to n ready jobs of queue, through the lock queries cur
// plans with its pool's lock hints (nil: from the front), reads them and
// returns them held by newHold's holds. Its statements run on the lock
// connection and are never cancelled half-way: a cancelled statement can
// cost the connection, and with it the locks of every running job.
func (sl *sessionLocks) lock(ctx context.Context, c *Client, queue string, n int, cur *lockplan.Cursor, newHold holdMaker) ([]*Job, error) {
	ctx = context.WithoutCancel(ctx)
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if err := sl.connect(ctx); err != nil {
		return nil, err
	}
	if n = min(n, int(sl.room.Load())-sl.heldCount()); n <= 0 {
		return nil, nil // no room in the lock table: the next poll looks again
	}
	// As a batch does: past the hints, and from the front, in the same
	// turn, when that finds nothing.
	step := cur.FirstBatch(queue)
	ids, err := sl.lockIDs(ctx, cur, step, n)
	for err == nil && len(ids) == 0 {
		next, ok := cur.AfterMiss(step, queue)
		if !ok {
			break
		}
		step = next
		ids, err = sl.lockIDs(ctx, cur, step, n)
		cur.Outcome(step, len(ids) > 0)
	}
	if err != nil {
		sl.lostLocked(err)
		return nil, fmt.Errorf("gue: lock jobs from queue %q: %w", queue, notMigrated(sl.stmts.Schema, err))
	}
	sl.used = time.Now()
	if len(ids) == 0 {
		return nil, nil
	}
	jobs, err := sl.load(ctx, c, queue, ids, newHold)
	if err != nil {
		sl.lostLocked(err) // the locks just taken go with it
		return nil, fmt.Errorf("gue: lock jobs from queue %q: %w", queue, err)
	}
	recordPositions(cur, step, jobs)
	return jobs, nil
}

// recordPositions tells cur where the last job of each priority that step
// locked lies: the furthest by position, not the last row read, as the
// walk's order is not trusted to survive its two statements.
func recordPositions(cur *lockplan.Cursor, step lockplan.Step, jobs []*Job) {
	last := map[int16]lockplan.Pos{}
	for _, j := range jobs {
		pos := lockplan.Pos{RunAt: j.RunAt, ID: j.ID}
		if old, ok := last[j.Priority]; !ok || pos.After(old) {
			last[j.Priority] = pos
		}
	}
	for prio, pos := range last {
		cur.Found(step, prio, pos)
	}
}

// lockIDs gives back the locks of the jobs ended since the last statement
// and takes the locks of up to n jobs by the lock query of step, in one
// statement; callers hold mu. Jobs it took again while they run are left
// out (takenAgain), and cur then looks from the front next.
func (sl *sessionLocks) lockIDs(ctx context.Context, cur *lockplan.Cursor, step lockplan.Step, n int) ([]int64, error) {
	releases := sl.takeReleases()
	args := append(step.Args, n, sl.heldArray(step), sl.pid, idArray(releases))
	sent := time.Now()
	rows, err := sl.conn.Query(ctx, sl.stmts.SessionLock, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	defer func() { cur.Ran(step, time.Since(sent)) }()
	var ids []int64
	var id, unlocked int64 // out of the loop: Scan's targets escape, an allocation each
	for rows.Next() {
		if err := rows.Scan(&id, &unlocked); err != nil {
			return nil, err
		}
		switch id {
		case -1:
			return nil, errNotOneSession
		case 0:
			sl.checkUnlocked(unlocked, len(releases))
		default:
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) > n {
		// Never: the statement tries no lock past n. Were it to, the
		// caller drops the connection, and the server gives back every
		// lock it held: none is left taken and never run.
		return nil, fmt.Errorf("gue: session mode: the lock statement took %d locks, %d asked for", len(ids), n)
	}
	kept := sl.takenAgain(ids)
	if len(kept) < len(ids) {
		// Their rows moved, perhaps behind the positions by the time
		// they are free again: the next lock looks from the front.
		cur.RescanSoon()
	}
	return kept, nil
}

// load reads the jobs whose locks were just taken, gives back the locks
// of those no longer ready (another pool ended them after the lock
// statement's snapshot), and returns the others held. Callers hold mu.
func (sl *sessionLocks) load(ctx context.Context, c *Client, queue string, ids []int64, newHold holdMaker) ([]*Job, error) {
	ends := sl.stmts.endings(ctx, c.pool)
	rows, err := sl.conn.Query(ctx, ends.SessionLoad, queue, idArray(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	gen := sl.gen.Load()
	var jobs []*Job
	var undecodable []*Job
	loaded := map[int64]bool{}
	for rows.Next() {
		j := &Job{ctx: ctx, hold: newHold(held{pool: c.pool, stmts: ends, backoff: c.backoff, maxAttempts: c.maxAttempts}, gen, sl.holder)}
		var metadata []byte
		var key sql.NullString
		if err := rows.Scan(&j.ID, &j.Queue, &j.Priority, &j.RunAt, &j.Type, &j.Args, &j.ErrorCount, &j.LastError, &metadata, &j.MaxAttempts, &key); err != nil {
			return nil, err
		}
		j.RunAt, j.UniqueKey = j.RunAt.UTC(), key.String
		loaded[j.ID] = true
		if err := decodeMetadata(metadata, &j.Metadata); err != nil {
			j.LastError = sql.NullString{String: err.Error(), Valid: true} // read below
			undecodable = append(undecodable, j)
			continue
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var gone []int64
	for _, id := range ids {
		if !loaded[id] {
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		var n int64
		if err := sl.conn.QueryRow(ctx, sl.stmts.SessionUnlock, idArray(gone), sl.pid).Scan(&n); err != nil {
			return nil, err
		}
		if n == -1 {
			return nil, errNotOneSession
		}
	}
	sl.heldMu.Lock()
	for _, js := range [][]*Job{jobs, undecodable} {
		for _, j := range js {
			sl.held[j.ID] = heldJob{j.Priority, lockplan.Pos{RunAt: j.RunAt, ID: j.ID}}
		}
	}
	sl.heldMu.Unlock()
	for _, j := range undecodable {
		// Charged to the job, like a failed run (see lockJob); its lock is
		// given back by the releaser, which waits for mu.
		msg := fmt.Sprintf("gue: job %d cannot be decoded: %s", j.ID, j.LastError.String)
		j.LastError = sql.NullString{}
		if err := j.Error(ctx, msg); err != nil {
			sl.logger.Error("a job could not be decoded, and recording it failed", adapter.Err(err))
		} else {
			sl.logger.Error("a job could not be decoded; its failure is recorded on it", adapter.F("job-id", j.ID))
		}
	}
	return jobs, nil
}

// heldArray is the IDs held that the walk of step can come to, as a
// PostgreSQL array literal: every one from the front, only those past
// their priority's position in a hinted walk, which starts after the jobs
// it locked before (the held ones, nearly always). Sending all 1,500 of a
// busy pool made each lock statement parse and hash them, 0.9 ms of its
// 2.1 (PostgreSQL 15).
func (sl *sessionLocks) heldArray(step lockplan.Step) string {
	sl.heldMu.Lock()
	defer sl.heldMu.Unlock()
	ids := make([]int64, 0, min(len(sl.held), 64))
	for id, h := range sl.held {
		if step.Reaches(h.prio, h.pos) {
			ids = append(ids, id)
		}
	}
	return idArray(ids)
}

// takenAgain removes from ids, which the lock statement just took, those
// of jobs held already, granted again: a held job whose row moved past
// the walk's position since it was locked (its ending rescheduled it to
// now, or another writer changed its run_at), which heldArray left out.
// They are not run twice; the extra lock each took goes back with the
// next statement. Callers hold mu.
func (sl *sessionLocks) takenAgain(ids []int64) []int64 {
	sl.heldMu.Lock()
	defer sl.heldMu.Unlock()
	kept := ids[:0]
	for _, id := range ids {
		if _, ok := sl.held[id]; ok {
			sl.releases = append(sl.releases, id)
			continue
		}
		kept = append(kept, id)
	}
	return kept
}
