package lockplan

import (
	"strings"
	"testing"
	"time"
)

func TestLockHintsPlan(t *testing.T) {
	var none *Hints
	if p := none.Plan(); !p.Full || p.Args != NoHints {
		t.Fatalf("nil hints plan = %+v, want a full scan", p)
	}
	h := NewHints(EmptyRescanGap)
	if p := h.Plan(); !p.Full {
		t.Fatalf("empty hints plan = %+v, want a full scan", p)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h.Record(3, Pos{t0, 10}, Plan{Full: true})
	p := h.Plan()
	if !p.One || p.Prio != 3 || p.Pos != (Pos{t0, 10}) {
		t.Fatalf("one priority known: plan = %+v, want a seek at priority 3 past job 10", p)
	}
	h.FastMissed()
	if p := h.Plan(); p.One || p.Full || p.Args.Prios != "{3}" || p.Args.IDs != "{10}" ||
		p.Args.RunAts != `{"2026-01-01 00:00:00.000000+00"}` {
		t.Fatalf("after the seek missed: plan = %+v, want the general hinted query", p)
	}
	h.lastFull = time.Now().Add(-RescanEvery)
	if p := h.Plan(); !p.Full {
		t.Fatalf("plan = %+v after %s, want a full scan", p, RescanEvery)
	}
	if p := h.Plan(); !p.One {
		t.Fatalf("plan = %+v after a full scan, want a seek again", p)
	}
	h.Record(-1, Pos{t0, 4}, Plan{Full: true})
	a := h.General().Args
	for _, want := range []string{"3", "-1"} {
		if !strings.Contains(a.Prios, want) {
			t.Errorf("general args %+v lack priority %s", a, want)
		}
	}
	if strings.Count(a.Prios, ",") != 1 || strings.Count(a.RunAts, ",") != 1 || strings.Count(a.IDs, ",") != 1 {
		t.Errorf("general args %+v: want two elements each", a)
	}
}

func TestLockHintsRecordMovesForwardUnlessFull(t *testing.T) {
	h := NewHints(0)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h.Record(0, Pos{t0, 10}, Plan{Full: true})
	h.Record(0, Pos{t0, 9}, Plan{}) // a concurrent worker reporting late
	if got := h.pos[0]; got.ID != 10 {
		t.Errorf("hinted record moved the position back to %d", got.ID)
	}
	h.Record(0, Pos{t0.Add(-time.Hour), 11}, Plan{})
	if got := h.pos[0]; got.ID != 10 {
		t.Errorf("hinted record of an earlier RunAt moved the position to %d", got.ID)
	}
	h.Record(0, Pos{t0.Add(time.Second), 12}, Plan{})
	if got := h.pos[0]; got.ID != 12 {
		t.Errorf("hinted record of a later job left the position at %d", got.ID)
	}
	h.Record(0, Pos{t0.Add(-time.Hour), 5}, Plan{Full: true}) // found from the front, behind
	if got := h.pos[0]; got.ID != 5 {
		t.Errorf("full-scan record left the position at %d, want 5", got.ID)
	}
	for i := range maxHints + 10 {
		h.Record(int16(i+1), Pos{t0, int64(100 + i)}, Plan{Full: true})
	}
	if len(h.pos) != maxHints {
		t.Errorf("%d priorities remembered, want at most %d", len(h.pos), maxHints)
	}
}

func TestLockHintsRescanAfterMiss(t *testing.T) {
	rescan := func(h *Hints, busy bool) bool {
		ok, wait := h.RescanAfterMiss(busy)
		if wait != 0 {
			t.Errorf("cheap scans from the front: RescanAfterMiss(%v) = %v, %s; want no wait", busy, ok, wait)
		}
		return ok
	}
	var none *Hints
	if !rescan(none, true) {
		t.Error("nil hints: want a rescan")
	}
	pool, lone := NewHints(EmptyRescanGap), NewHints(0)
	for _, h := range []*Hints{pool, lone} {
		if !rescan(h, true) {
			t.Error("no empty rescan yet: want a rescan")
		}
		h.Rescanned(false)
	}
	if rescan(pool, true) {
		t.Error("a pool worker straight from a job right after an empty rescan: want none")
	}
	if !rescan(pool, false) {
		t.Error("a woken or polling pool worker: want a rescan")
	}
	if !rescan(lone, true) {
		t.Error("a lone worker: want a rescan every time")
	}
	pool.Rescanned(true)
	if !rescan(pool, true) {
		t.Error("after a rescan that found a job: want a rescan")
	}
}

// A scan from the front that finds a job behind the position moves it back,
// and hinted locks planned before that cannot push it forward again: they
// would leave the jobs just found behind it to starve.
func TestLockHintsMoveBackIsNotUndoneByLocksInFlight(t *testing.T) {
	h := NewHints(0)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h.Record(0, Pos{t0, 100}, Plan{Full: true})
	inFlight := h.General() // planned before the move back
	h.Record(0, Pos{t0.Add(-time.Hour), 500}, Plan{Full: true})
	h.Record(0, Pos{t0.Add(time.Second), 101}, inFlight)
	if got := h.pos[0]; got.ID != 500 {
		t.Fatalf("position %d after a lock in flight reported; want 500, where the scan from the front put it", got.ID)
	}
	next := h.General()
	h.Record(0, Pos{t0.Add(-time.Hour), 501}, next)
	if got := h.pos[0]; got.ID != 501 {
		t.Errorf("a lock planned after the move back did not move the position forward: %d", got.ID)
	}
}

func TestPgTimestamp(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC):            "2026-03-04 05:06:07.891234+00",
		time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC):                       "0001-06-01 00:00:00.000000+00 BC",
		time.Date(-44, 3, 15, 12, 0, 0, 0, time.UTC):                   "0045-03-15 12:00:00.000000+00 BC",
		time.Date(2026, 1, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600)): "2026-01-01 00:00:00.000000+00",
	} {
		if got := pgTimestamp(in); got != want {
			t.Errorf("pgTimestamp(%v) = %q, want %q", in, got, want)
		}
	}
}
