package lockplan

import (
	"fmt"
	"maps"
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
// EmptyRescanGap while such scans keep finding nothing) and at least once
// every RescanEvery; when those scans cost much more than the hinted
// queries, less often (see RescanCostFactor).
const (
	RescanEvery = time.Second
	// maxHints bounds the memory of a pool; priorities past it are still
	// worked, from the front.
	maxHints = 64
	// EmptyRescanGap is how long after an empty scan from the front the
	// workers of a pool take a miss of the hinted query at its word: an
	// idle pool's workers would otherwise each walk the dead entries.
	EmptyRescanGap = 50 * time.Millisecond
)

// Pos is a job's place in its priority's order: the lock queries take
// jobs by RunAt, then ID.
type Pos struct {
	RunAt time.Time
	ID    int64
}

// After reports whether p comes after o in its priority's order.
func (p Pos) After(o Pos) bool {
	return p.RunAt.After(o.RunAt) || (p.RunAt.Equal(o.RunAt) && p.ID > o.ID)
}

// Hints is shared by the workers of a pool; safe for concurrent use.
type Hints struct {
	mu       sync.Mutex
	pos      map[int16]Pos
	lastFull time.Time
	// slowOnly is set when the seek (Seek) found nothing but
	// the general query did (rows at a smaller priority, such as jobs
	// scheduled for later): until the next scan from the front, the seek
	// would only cost a round trip.
	slowOnly bool
	// emptyAt is when a scan from the front, run because the hinted one
	// found nothing, found nothing either. Such scans walk every dead entry
	// and an idle pool's workers would otherwise all run them in a row.
	emptyAt time.Time
	// emptyGap is EmptyRescanGap for a pool's hints, 0 for a lone worker's
	// (whose WorkOne then always finds a ready job if there is one).
	emptyGap time.Duration
	// cost spaces the scans from the front when they are slow.
	cost costs
	// gen counts the times a scan from the front moved a position back.
	// Hinted locks planned in an earlier generation do not move positions:
	// they were in flight when the position went back, and letting them
	// push it forward again would leave the jobs just found behind it to
	// starve (only found by the next scan from the front, one a second).
	gen uint64
}

func NewHints(emptyGap time.Duration) *Hints {
	return &Hints{pos: make(map[int16]Pos), emptyGap: emptyGap}
}

// Args is the hint part of the lock query's arguments: PostgreSQL array
// literals of priorities, positions' RunAt and positions' ID, in one order.
// Text, not driver arrays, so that every driver passes them alike.
type Args struct {
	Prios, RunAts, IDs string
}

// NoHints is the arguments of a lock query from the front.
var NoHints = Args{"{}", "{}", "{}"}

// Plan says how to lock next: from the front (Full), with the general
// hinted query (Args), or, when the hints name one priority only, with the
// seek at that priority (One).
type Plan struct {
	Full bool
	One  bool
	Prio int16
	Pos  Pos
	Args Args
	// pos is the positions Args names, for Step.Reaches; in a BatchPlan
	// only (nil elsewhere: every job reached).
	pos map[int16]Pos
	// gen is the hints' generation the plan was made in (see record).
	gen uint64
}

// Plan returns how to lock next. It scans from the front when the hints are
// empty and once every RescanEvery. A nil *Hints always scans from
// the front.
func (h *Hints) Plan() Plan { return h.plan(true) }

// BatchPlan is Plan for a batch's lock statement, which has no seek: where
// Plan would seek at one priority, it plans the general hinted query.
func (h *Hints) BatchPlan() Plan { return h.plan(false) }

func (h *Hints) plan(seek bool) Plan {
	if h == nil {
		return Plan{Full: true, Args: NoHints}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if len(h.pos) == 0 || now.Sub(h.lastFull) >= RescanEvery && h.cost.wait(now) == 0 {
		h.lastFull, h.cost.started = now, now
		h.slowOnly = false
		return Plan{Full: true, Args: NoHints, gen: h.gen}
	}
	if seek && len(h.pos) == 1 && !h.slowOnly {
		for prio, pos := range h.pos {
			return Plan{One: true, Prio: prio, Pos: pos, gen: h.gen}
		}
	}
	p := Plan{Args: h.argsLocked(), gen: h.gen}
	if !seek {
		// Only batch and session mode ask Step.Reaches: the default mode's
		// lock of every job need not copy the positions.
		p.pos = maps.Clone(h.pos)
	}
	return p
}

// General returns a plan of the general hinted query.
func (h *Hints) General() Plan {
	if h == nil {
		return Plan{Full: true, Args: NoHints}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return Plan{Args: h.argsLocked(), gen: h.gen}
}

// RescanAfterMiss reports whether a lock attempt whose hinted query found
// nothing should scan from the front: yes, unless the worker comes straight
// from a job (busy) and such a scan of this pool found nothing within
// emptyGap, or the scans from the front are slow and the last one ended
// too recently (see RescanCostFactor). A worker woken by a notification or
// by its poll looks unless they are slow, so a job behind the hints waits
// for no poll interval. When slow scans left one out, wait is how long
// until the next may start (0 otherwise): the worker looks again then.
func (h *Hints) RescanAfterMiss(busy bool) (ok bool, wait time.Duration) {
	if h == nil {
		return true, 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if h.emptyGap > 0 { // a lone worker's (WorkOne) always looks
		if w := h.cost.wait(now); w > 0 {
			return false, w
		}
	}
	if busy && now.Sub(h.emptyAt) < h.emptyGap {
		return false, 0
	}
	h.cost.started = now
	return true, 0
}

// Ran records that a query of kind k took took, from its sending to its
// last row.
func (h *Hints) Ran(k Kind, took time.Duration) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cost.ran(k, took, time.Now())
}

// RescanSoon makes the next plan a scan from the front: a job was given back
// to the queue, perhaps behind the positions (a lock sent ahead was rolled back).
func (h *Hints) RescanSoon() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastFull = time.Time{}
}

// Rescanned records the outcome of a scan from the front after a miss.
func (h *Hints) Rescanned(found bool) {
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

// FastMissed records that the seek (Seek) found nothing where
// the general query found a job.
func (h *Hints) FastMissed() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.slowOnly = true
}

// argsLocked returns the hints as lock query arguments; callers hold mu.
func (h *Hints) argsLocked() Args {
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
		r.WriteString(pgTimestamp(pos.RunAt))
		r.WriteByte('"')
		i.WriteString(strconv.FormatInt(pos.ID, 10))
	}
	p.WriteByte('}')
	r.WriteByte('}')
	i.WriteByte('}')
	return Args{p.String(), r.String(), i.String()}
}

// Record notes that a job at pos of priority prio was locked with plan p.
// A job found from the front moves its priority's position wherever it is,
// back too (starting a new generation when it moves back); a hinted one only
// forward, as concurrent workers report out of order, and not at all when
// it was planned before the latest move back.
func (h *Hints) Record(prio int16, pos Pos, p Plan) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	old, ok := h.pos[prio]
	switch {
	case !ok && len(h.pos) >= maxHints:
	case p.Full:
		if ok && old.After(pos) {
			h.gen++
		}
		h.pos[prio] = pos
	case p.gen != h.gen:
	case !ok, pos.After(old):
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
