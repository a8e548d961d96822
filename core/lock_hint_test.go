package gue

import (
	"strings"
	"testing"
	"time"
)

func TestLockHintsPlan(t *testing.T) {
	var none *lockHints
	if p := none.plan(); !p.full || p.args != noHints {
		t.Fatalf("nil hints plan = %+v, want a full scan", p)
	}
	h := newLockHints(emptyRescanGap)
	if p := h.plan(); !p.full {
		t.Fatalf("empty hints plan = %+v, want a full scan", p)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h.record(3, lockPos{t0, 10}, lockPlan{full: true})
	p := h.plan()
	if !p.one || p.prio != 3 || p.pos != (lockPos{t0, 10}) {
		t.Fatalf("one priority known: plan = %+v, want lockOne at priority 3 past job 10", p)
	}
	h.fastMissed()
	if p := h.plan(); p.one || p.full || p.args.prios != "{3}" || p.args.ids != "{10}" ||
		p.args.runAts != `{"2026-01-01 00:00:00.000000+00"}` {
		t.Fatalf("after lockOne missed: plan = %+v, want the general hinted query", p)
	}
	h.lastFull = time.Now().Add(-hintRescanEvery)
	if p := h.plan(); !p.full {
		t.Fatalf("plan = %+v after %s, want a full scan", p, hintRescanEvery)
	}
	if p := h.plan(); !p.one {
		t.Fatalf("plan = %+v after a full scan, want lockOne again", p)
	}
	h.record(-1, lockPos{t0, 4}, lockPlan{full: true})
	a := h.general().args
	for _, want := range []string{"3", "-1"} {
		if !strings.Contains(a.prios, want) {
			t.Errorf("general args %+v lack priority %s", a, want)
		}
	}
	if strings.Count(a.prios, ",") != 1 || strings.Count(a.runAts, ",") != 1 || strings.Count(a.ids, ",") != 1 {
		t.Errorf("general args %+v: want two elements each", a)
	}
}

func TestLockHintsRecordMovesForwardUnlessFull(t *testing.T) {
	h := newLockHints(0)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h.record(0, lockPos{t0, 10}, lockPlan{full: true})
	h.record(0, lockPos{t0, 9}, lockPlan{full: false}) // a concurrent worker reporting late
	if got := h.pos[0]; got.id != 10 {
		t.Errorf("hinted record moved the position back to %d", got.id)
	}
	h.record(0, lockPos{t0.Add(-time.Hour), 11}, lockPlan{full: false})
	if got := h.pos[0]; got.id != 10 {
		t.Errorf("hinted record of an earlier RunAt moved the position to %d", got.id)
	}
	h.record(0, lockPos{t0.Add(time.Second), 12}, lockPlan{full: false})
	if got := h.pos[0]; got.id != 12 {
		t.Errorf("hinted record of a later job left the position at %d", got.id)
	}
	h.record(0, lockPos{t0.Add(-time.Hour), 5}, lockPlan{full: true}) // found from the front, behind
	if got := h.pos[0]; got.id != 5 {
		t.Errorf("full-scan record left the position at %d, want 5", got.id)
	}
	for i := range maxHints + 10 {
		h.record(int16(i+1), lockPos{t0, int64(100 + i)}, lockPlan{full: true})
	}
	if len(h.pos) != maxHints {
		t.Errorf("%d priorities remembered, want at most %d", len(h.pos), maxHints)
	}
}

func TestLockHintsRescanAfterMiss(t *testing.T) {
	var none *lockHints
	if !none.rescanAfterMiss(true) {
		t.Error("nil hints: want a rescan")
	}
	pool, lone := newLockHints(emptyRescanGap), newLockHints(0)
	for _, h := range []*lockHints{pool, lone} {
		if !h.rescanAfterMiss(true) {
			t.Error("no empty rescan yet: want a rescan")
		}
		h.rescanned(false)
	}
	if pool.rescanAfterMiss(true) {
		t.Error("a pool worker straight from a job right after an empty rescan: want none")
	}
	if !pool.rescanAfterMiss(false) {
		t.Error("a woken or polling pool worker: want a rescan")
	}
	if !lone.rescanAfterMiss(true) {
		t.Error("a lone worker: want a rescan every time")
	}
	pool.rescanned(true)
	if !pool.rescanAfterMiss(true) {
		t.Error("after a rescan that found a job: want a rescan")
	}
}

// A scan from the front that finds a job behind the position moves it back,
// and hinted locks planned before that cannot push it forward again: they
// would leave the jobs just found behind it to starve.
func TestLockHintsMoveBackIsNotUndoneByLocksInFlight(t *testing.T) {
	h := newLockHints(0)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h.record(0, lockPos{t0, 100}, lockPlan{full: true})
	inFlight := h.general() // planned before the move back
	h.record(0, lockPos{t0.Add(-time.Hour), 500}, lockPlan{full: true})
	h.record(0, lockPos{t0.Add(time.Second), 101}, inFlight)
	if got := h.pos[0]; got.id != 500 {
		t.Fatalf("position %d after a lock in flight reported; want 500, where the scan from the front put it", got.id)
	}
	next := h.general()
	h.record(0, lockPos{t0.Add(-time.Hour), 501}, next)
	if got := h.pos[0]; got.id != 501 {
		t.Errorf("a lock planned after the move back did not move the position forward: %d", got.id)
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
