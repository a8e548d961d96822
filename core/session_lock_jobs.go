package gue

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/lockplan"
	"github.com/gue-go/gue/core/internal/sqlq"
)

// The lock connection's turn that takes jobs: one statement gives back the
// locks of ended jobs and takes new ones, a second, in a new snapshot,
// reads the jobs locked and lets go of those another pool ended meanwhile
// (in the same round trip where the connection can batch them).

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
	t := lockTurn{c: c, queue: queue, cur: cur, n: n, ends: sl.stmts.endings(ctx, c.pool), newHold: newHold}
	// As a batch does: past the hints, and from the front, in the same
	// turn, when that finds nothing.
	step := cur.FirstBatch(queue)
	jobs, found, err := sl.lockStep(ctx, &t, step)
	for err == nil && !found {
		next, ok := cur.AfterMiss(step, queue)
		if !ok {
			break
		}
		step = next
		jobs, found, err = sl.lockStep(ctx, &t, step)
		cur.Outcome(step, found)
	}
	if err != nil {
		sl.lostLocked(err) // the locks just taken go with it
		return nil, fmt.Errorf("gue: lock jobs from queue %q: %w", queue, notMigrated(sl.stmts.Schema, err))
	}
	sl.used = time.Now()
	recordPositions(cur, step, jobs)
	return jobs, nil
}

// lockTurn is what a turn of lock needs in each of its steps.
type lockTurn struct {
	c       *Client
	queue   string
	cur     *lockplan.Cursor
	n       int
	ends    *sqlq.Set
	newHold holdMaker
}

// lockStep locks up to t.n jobs by the lock query of step and reads them.
// found is whether it locked any (some may be left out as no longer
// ready). With a batcher (see connect) the read goes out behind the lock
// statement: one round trip and one transaction for both, where each end
// of a transaction makes the server walk every lock the session holds.
func (sl *sessionLocks) lockStep(ctx context.Context, t *lockTurn, step lockplan.Step) (jobs []*Job, found bool, err error) {
	releases := sl.takeReleases()
	lock := adapter.BatchQuery{SQL: sl.stmts.SessionLock, Args: append(step.Args, t.n, sl.heldArray(step), sl.pid, idArray(releases))}
	sent := time.Now()
	if sl.oneTrip == nil {
		rows, err := sl.conn.Query(ctx, lock.SQL, lock.Args...)
		if err != nil {
			return nil, false, err
		}
		ids, dropped, err := sl.lockIDs(t, step, rows, len(releases), sent)
		if err != nil || len(ids) == 0 {
			return nil, false, err
		}
		if rows, err = sl.conn.Query(ctx, t.ends.SessionLoad, t.queue, idArray(ids)); err != nil {
			return nil, true, err
		}
		r, err := sl.readJobs(ctx, t, rows, dropped)
		if err != nil {
			return nil, true, err
		}
		jobs, err := sl.settle(ctx, ids, r)
		return jobs, true, err
	}
	br := sl.oneTrip.QueryBatch(ctx, []adapter.BatchQuery{lock, {SQL: t.ends.SessionLoadLocked, Args: []any{t.queue}}})
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, false, err
	}
	ids, dropped, err := sl.lockIDs(t, step, rows, len(releases), sent)
	if err != nil {
		return nil, false, err
	}
	if rows, err = br.Query(); err != nil {
		return nil, false, err
	}
	r, err := sl.readJobs(ctx, t, rows, dropped)
	if err == nil {
		err = br.Close() // before the connection's next statement (settle)
	}
	if err != nil || len(ids) == 0 {
		return nil, false, err
	}
	jobs, err = sl.settle(ctx, ids, r)
	return jobs, true, err
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

// lockIDs reads the rows of the lock statement of step, sent at sent,
// which gave back released locks first: the IDs of the jobs it locked,
// but for those of jobs held already (takenAgain), which are dropped, and
// cur then looks from the front next. Callers hold mu.
func (sl *sessionLocks) lockIDs(t *lockTurn, step lockplan.Step, rows adapter.Rows, released int, sent time.Time) (ids, dropped []int64, err error) {
	defer rows.Close()
	defer func() { t.cur.Ran(step, time.Since(sent)) }()
	// Out of the loop: Scan's targets, and the slice of them, escape, an
	// allocation each per row.
	var id, unlocked int64
	dest := []any{&id, &unlocked}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, err
		}
		switch id {
		case -1:
			return nil, nil, errNotOneSession
		case 0:
			sl.checkUnlocked(unlocked, released)
		default:
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(ids) > t.n {
		// Never: the statement tries no lock past n. Were it to, the
		// caller drops the connection, and the server gives back every
		// lock it held: none is left taken and never run.
		return nil, nil, fmt.Errorf("gue: session mode: the lock statement took %d locks, %d asked for", len(ids), t.n)
	}
	ids, dropped = sl.takenAgain(ids)
	if len(dropped) > 0 {
		// Their rows moved, perhaps behind the positions by the time
		// they are free again: the next lock looks from the front.
		t.cur.RescanSoon()
	}
	return ids, dropped, nil
}

// readRows is what readJobs read: the jobs to run, those that cannot be
// decoded, and the IDs of both.
type readRows struct {
	jobs, undecodable []*Job
	loaded            map[int64]bool
}

// readJobs reads the jobs just locked that are still ready, but for the
// held ones in dropped, and closes rows. Callers hold mu.
func (sl *sessionLocks) readJobs(ctx context.Context, t *lockTurn, rows adapter.Rows, dropped []int64) (readRows, error) {
	defer rows.Close()
	c := t.c
	gen := sl.gen.Load()
	r := readRows{loaded: map[int64]bool{}}
	// Out of the loop, as in lockIDs: the targets that are not the job's
	// own fields, and the slice of them all, pointed at each job in turn.
	var metadata []byte
	var key sql.NullString
	dest := make([]any, 11)
	for rows.Next() {
		j := &Job{ctx: ctx, hold: t.newHold(held{pool: c.pool, stmts: t.ends, backoff: c.backoff, maxAttempts: c.maxAttempts}, gen, sl.holder)}
		metadata, key = nil, sql.NullString{}
		dest[0], dest[1], dest[2], dest[3], dest[4], dest[5] = &j.ID, &j.Queue, &j.Priority, &j.RunAt, &j.Type, &j.Args
		dest[6], dest[7], dest[8], dest[9], dest[10] = &j.ErrorCount, &j.LastError, &metadata, &j.MaxAttempts, &key
		if err := rows.Scan(dest...); err != nil {
			return readRows{}, err
		}
		if slices.Contains(dropped, j.ID) {
			continue // running already (see takenAgain)
		}
		j.RunAt, j.UniqueKey = j.RunAt.UTC(), key.String
		r.loaded[j.ID] = true
		if err := decodeMetadata(metadata, &j.Metadata); err != nil {
			j.LastError = sql.NullString{String: err.Error(), Valid: true} // read in settle
			r.undecodable = append(r.undecodable, j)
			continue
		}
		r.jobs = append(r.jobs, j)
	}
	return r, rows.Err()
}

// settle holds the jobs read of those locked (ids), gives back the locks
// of the others, no longer ready (another pool ended them after the lock
// statement's snapshot), and records the failure of the undecodable ones.
// It returns the jobs to run. Callers hold mu.
func (sl *sessionLocks) settle(ctx context.Context, ids []int64, r readRows) ([]*Job, error) {
	var gone []int64
	for _, id := range ids {
		if !r.loaded[id] {
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
	for _, js := range [][]*Job{r.jobs, r.undecodable} {
		for _, j := range js {
			sl.held[j.ID] = heldJob{j.Priority, lockplan.Pos{RunAt: j.RunAt, ID: j.ID}}
		}
	}
	sl.heldMu.Unlock()
	for _, j := range r.undecodable {
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
	return r.jobs, nil
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
func (sl *sessionLocks) takenAgain(ids []int64) (kept, dropped []int64) {
	sl.heldMu.Lock()
	defer sl.heldMu.Unlock()
	kept = ids[:0]
	for _, id := range ids {
		if _, ok := sl.held[id]; ok {
			sl.releases = append(sl.releases, id)
			dropped = append(dropped, id)
			continue
		}
		kept = append(kept, id)
	}
	return kept, dropped
}
