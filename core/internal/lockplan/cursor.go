// Package lockplan decides which lock query a worker runs next and what it
// remembers of the job it found: the lock hints a pool's workers share
// (Hints) and one worker's way through them (Cursor). It holds no SQL and
// touches no database: the caller runs the statement of the step's Kind.
package lockplan

import "time"

// Kind is a lock query, in one vocabulary:
//
//   - Seek: the hints name a single priority; an index seek past its
//     position, guarded by a probe for smaller priorities.
//   - Hinted: the general query, stepping through the queue's priorities
//     and seeking each from its hinted position.
//   - Full: the general query without hints, from the front of every
//     priority; it finds the jobs behind the hints.
type Kind uint8

// The lock queries; see Kind.
const (
	Seek Kind = iota
	Hinted
	Full
)

// Step is one lock query to run: the statement of its Kind with Args.
type Step struct {
	Kind Kind
	// Args are the statement's arguments: the queue, then the hints.
	Args []any
	Plan Plan
	// afterSeek: a hinted query run because the seek found nothing.
	afterSeek bool
}

// Cursor is one worker's way to its next job. It owns the logic of the
// lock hints, which the workers of a pool share: which query to run first,
// which after a miss, and what to remember of the job found. A nil *Cursor,
// or one without hints, always locks from the front.
type Cursor struct {
	hints *Hints
	// FromJob: the worker comes straight from a job rather than from a
	// wake-up or a poll (see Hints.RescanAfterMiss).
	FromJob bool
	// Deferred is set by AfterMiss when it left out a scan from the front
	// for its cost: how long until the pool's next may start. The worker
	// looks again then, not at its next poll (which may be an hour away):
	// the job behind the hints that the scan would have found waits no
	// longer than that. First and FirstBatch clear it.
	Deferred time.Duration
}

// NewCursor returns a cursor through hints (nil: none, always from the
// front).
func NewCursor(hints *Hints) Cursor { return Cursor{hints: hints} }

// First returns the query to start with.
func (c *Cursor) First(queue string) Step {
	if c == nil {
		return fullStep(Plan{Full: true, Args: NoHints}, queue)
	}
	c.Deferred = 0
	return step(c.hints.Plan(), queue)
}

// FirstBatch returns the query to start a batch with: the general hinted
// query or a full one, never a seek (see Hints.BatchPlan). Its Args are
// those of First's; the batch's size goes after them.
func (c *Cursor) FirstBatch(queue string) Step {
	if c == nil {
		return fullStep(Plan{Full: true, Args: NoHints}, queue)
	}
	c.Deferred = 0
	return step(c.hints.BatchPlan(), queue)
}

// Reaches reports whether s's query can come to the job at pos of
// priority prio: false only where a hinted query of FirstBatch starts
// past it (true for any other step).
func (s Step) Reaches(prio int16, pos Pos) bool {
	if s.Kind != Hinted {
		return true
	}
	hint, ok := s.Plan.pos[prio]
	return !ok || pos.After(hint) // a nil map: never ok
}

func step(plan Plan, queue string) Step {
	switch {
	case plan.One:
		return Step{Kind: Seek, Args: []any{queue, plan.Prio, plan.Pos.RunAt, plan.Pos.ID}, Plan: plan}
	case plan.Full:
		return fullStep(plan, queue)
	}
	a := plan.Args
	return Step{Kind: Hinted, Args: []any{queue, a.Prios, a.RunAts, a.IDs}, Plan: plan}
}

func fullStep(plan Plan, queue string) Step {
	plan.Full, plan.Args = true, NoHints
	return Step{Kind: Full, Args: []any{queue, NoHints.Prios, NoHints.RunAts, NoHints.IDs}, Plan: plan}
}

// AfterMiss returns the query to run when prev found nothing, if any: a
// missed seek (stopped by rows at a smaller priority) is followed by the
// hinted query, which steps over them when they are not ready yet; a missed
// hinted query by a full one, unless the hints say one ran empty just now.
func (c *Cursor) AfterMiss(prev Step, queue string) (Step, bool) {
	if c == nil {
		return Step{}, false
	}
	switch prev.Kind {
	case Seek:
		s := step(c.hints.General(), queue)
		s.afterSeek = true
		return s, true
	case Hinted:
		ok, wait := c.hints.RescanAfterMiss(c.FromJob)
		if ok {
			return fullStep(prev.Plan, queue), true
		}
		c.Deferred = wait
	}
	return Step{}, false
}

// Outcome tells the hints how a query run after a miss went.
func (c *Cursor) Outcome(s Step, found bool) {
	switch {
	case c == nil:
	case s.afterSeek && found:
		c.hints.FastMissed()
	case s.Kind == Full:
		c.hints.Rescanned(found)
	}
}

// Ran records how long s took, from its sending to its last row: slow
// scans from the front, against the hinted queries, space out the next
// ones (see RescanCostFactor).
func (c *Cursor) Ran(s Step, took time.Duration) {
	if c != nil {
		c.hints.Ran(s.Kind, took)
	}
}

// Found records the position of the job that s locked.
func (c *Cursor) Found(s Step, prio int16, pos Pos) {
	if c != nil {
		c.hints.Record(prio, pos, s.Plan)
	}
}

// RescanSoon makes the pool's next plan a scan from the front: a job was
// given back to the queue, perhaps behind the positions.
func (c *Cursor) RescanSoon() {
	if c != nil {
		c.hints.RescanSoon()
	}
}
