package gue

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Lock hints let a worker skip the deleted jobs at the head of its queue.
//
// A deleted job's index entry stays until VACUUM removes it, and the ready
// jobs of a priority are taken from the front, so every job worked leaves a
// dead entry where the next lock query starts. Between two autovacuum runs
// (a minute apart by default) a busy queue piles up tens of thousands of
// them, and a lock query that starts from the front walks them all, while
// every worker walks the same pages: throughput falls by half in 30 seconds.
//
// The workers of one pool remember, for each priority, the position (RunAt,
// ID) of the last job they locked, and the lock query seeks past it. A job
// that ends up behind a position — its enqueuing transaction took longer to
// commit than later jobs took to be worked, it was enqueued with a RunAt in
// the past, or a worker died holding it — is found by a lock query that
// starts from the front, which runs whenever the hinted one finds nothing
// (for the workers of a pool coming straight from a job, at most once every
// emptyRescanGap while such scans keep finding nothing) and at least once
// every hintRescanEvery.
const (
	hintRescanEvery = time.Second
	// maxHints bounds the memory of a pool; priorities past it are still
	// worked, from the front.
	maxHints = 64
	// emptyRescanGap is how long after an empty scan from the front the
	// workers of a pool take a miss of the hinted query at its word: an
	// idle pool's workers would otherwise each walk the dead entries.
	emptyRescanGap = 50 * time.Millisecond
)

type lockPos struct {
	runAt time.Time
	id    int64
}

func (p lockPos) after(o lockPos) bool {
	return p.runAt.After(o.runAt) || (p.runAt.Equal(o.runAt) && p.id > o.id)
}

// lockHints is shared by the workers of a pool; safe for concurrent use.
type lockHints struct {
	mu       sync.Mutex
	pos      map[int16]lockPos
	lastFull time.Time
	// slowOnly is set when the seek (queries.lockSeek) found nothing but
	// the general query did (rows at a smaller priority, such as jobs
	// scheduled for later): until the next scan from the front, the seek
	// would only cost a round trip.
	slowOnly bool
	// emptyAt is when a scan from the front, run because the hinted one
	// found nothing, found nothing either. Such scans walk every dead entry
	// and an idle pool's workers would otherwise all run them in a row.
	emptyAt time.Time
	// emptyGap is emptyRescanGap for a pool's hints, 0 for a lone worker's
	// (whose WorkOne then always finds a ready job if there is one).
	emptyGap time.Duration
	// gen counts the times a scan from the front moved a position back.
	// Hinted locks planned in an earlier generation do not move positions:
	// they were in flight when the position went back, and letting them
	// push it forward again would leave the jobs just found behind it to
	// starve (only found by the next scan from the front, one a second).
	gen uint64
}

func newLockHints(emptyGap time.Duration) *lockHints {
	return &lockHints{pos: make(map[int16]lockPos), emptyGap: emptyGap}
}

// lockArgs is the hint part of the lock query's arguments: PostgreSQL array
// literals of priorities, positions' RunAt and positions' ID, in one order.
// Text, not driver arrays, so that every driver passes them alike.
type lockArgs struct {
	prios, runAts, ids string
}

var noHints = lockArgs{"{}", "{}", "{}"}

// lockPlan says how to lock next: from the front (full), with the general
// hinted query (args), or, when the hints name one priority only, with the
// plain seek (queries.lockSeek, lockSeek steps) at that priority (one).
type lockPlan struct {
	full bool
	one  bool
	prio int16
	pos  lockPos
	args lockArgs
	// gen is the hints' generation the plan was made in (see record).
	gen uint64
}

// plan returns how to lock next. It scans from the front when the hints are
// empty and once every hintRescanEvery. A nil *lockHints always scans from
// the front.
func (h *lockHints) plan() lockPlan {
	if h == nil {
		return lockPlan{full: true, args: noHints}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.pos) == 0 || time.Since(h.lastFull) >= hintRescanEvery {
		h.lastFull = time.Now()
		h.slowOnly = false
		return lockPlan{full: true, args: noHints, gen: h.gen}
	}
	if len(h.pos) == 1 && !h.slowOnly {
		for prio, pos := range h.pos {
			return lockPlan{one: true, prio: prio, pos: pos, gen: h.gen}
		}
	}
	return lockPlan{args: h.argsLocked(), gen: h.gen}
}

// general returns a plan of the general hinted query.
func (h *lockHints) general() lockPlan {
	h.mu.Lock()
	defer h.mu.Unlock()
	return lockPlan{args: h.argsLocked(), gen: h.gen}
}

// rescanAfterMiss reports whether a lock attempt whose hinted query found
// nothing should scan from the front: yes, unless the worker comes straight
// from a job (busy) and such a scan of this pool found nothing within
// emptyGap. A worker woken by a notification or by its poll always looks,
// so a job behind the hints waits for no poll interval.
func (h *lockHints) rescanAfterMiss(busy bool) bool {
	if h == nil || !busy {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Since(h.emptyAt) >= h.emptyGap
}

// rescanSoon makes the next plan a scan from the front: a job was given back
// to the queue, perhaps behind the positions (lockCursor.giveBack).
func (h *lockHints) rescanSoon() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastFull = time.Time{}
}

// rescanned records the outcome of a scan from the front after a miss.
func (h *lockHints) rescanned(found bool) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if found {
		h.emptyAt = time.Time{}
	} else {
		h.emptyAt = time.Now()
	}
}

// fastMissed records that the seek (queries.lockSeek) found nothing where
// the general query found a job.
func (h *lockHints) fastMissed() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.slowOnly = true
}

// argsLocked returns the hints as lock query arguments; callers hold mu.
func (h *lockHints) argsLocked() lockArgs {
	var p, r, i strings.Builder
	p.WriteByte('{')
	r.WriteByte('{')
	i.WriteByte('{')
	first := true
	for prio, pos := range h.pos {
		if !first {
			p.WriteByte(',')
			r.WriteByte(',')
			i.WriteByte(',')
		}
		first = false
		p.WriteString(strconv.Itoa(int(prio)))
		r.WriteByte('"')
		r.WriteString(pgTimestamp(pos.runAt))
		r.WriteByte('"')
		i.WriteString(strconv.FormatInt(pos.id, 10))
	}
	p.WriteByte('}')
	r.WriteByte('}')
	i.WriteByte('}')
	return lockArgs{p.String(), r.String(), i.String()}
}

// record notes that a job at pos of priority prio was locked with plan p.
// A job found from the front moves its priority's position wherever it is,
// back too (starting a new generation when it moves back); a hinted one only
// forward, as concurrent workers report out of order, and not at all when
// it was planned before the latest move back.
func (h *lockHints) record(prio int16, pos lockPos, p lockPlan) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	old, ok := h.pos[prio]
	switch {
	case !ok && len(h.pos) >= maxHints:
	case p.full:
		if ok && old.after(pos) {
			h.gen++
		}
		h.pos[prio] = pos
	case p.gen != h.gen:
	case !ok, pos.after(old):
		h.pos[prio] = pos
	}
}

// pgTimestamp formats t as PostgreSQL reads timestamptz input, years before
// 1 AD included (Go's year 0 is 1 BC), to microseconds: RFC 3339 has no
// such years, and PostgreSQL rejects "0000-..." outright.
func pgTimestamp(t time.Time) string {
	t = t.UTC()
	year, era := t.Year(), ""
	if year <= 0 {
		year, era = 1-year, " BC"
	}
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d.%06d+00%s",
		year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000, era)
}
