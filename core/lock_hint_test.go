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
	h.record(&Job{ID: 10, Priority: 3, RunAt: t0}, true)
	p := h.plan()
	if !p.one || p.prio != 3 || p.pos != (lockPos{t0, 10}) {
		t.Fatalf("one priority known: plan = %+v, want lockOne at priority 3 past job 10", p)
	}
	h.fastMissed()
	if p := h.plan(); p.one || p.full || p.args.prios != "{3}" || p.args.ids != "{10}" ||
		p.args.runAts != `{"2026-01-01T00:00:00Z"}` {
		t.Fatalf("after lockOne missed: plan = %+v, want the general hinted query", p)
	}
	h.lastFull = time.Now().Add(-hintRescanEvery)
	if p := h.plan(); !p.full {
		t.Fatalf("plan = %+v after %s, want a full scan", p, hintRescanEvery)
	}
	if p := h.plan(); !p.one {
		t.Fatalf("plan = %+v after a full scan, want lockOne again", p)
	}
	h.record(&Job{ID: 4, Priority: -1, RunAt: t0}, true)
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
	h.record(&Job{ID: 10, RunAt: t0}, true)
	h.record(&Job{ID: 9, RunAt: t0}, false) // a concurrent worker reporting late
	if got := h.pos[0]; got.id != 10 {
		t.Errorf("hinted record moved the position back to %d", got.id)
	}
	h.record(&Job{ID: 11, RunAt: t0.Add(-time.Hour)}, false)
	if got := h.pos[0]; got.id != 10 {
		t.Errorf("hinted record of an earlier RunAt moved the position to %d", got.id)
	}
	h.record(&Job{ID: 12, RunAt: t0.Add(time.Second)}, false)
	if got := h.pos[0]; got.id != 12 {
		t.Errorf("hinted record of a later job left the position at %d", got.id)
	}
	h.record(&Job{ID: 5, RunAt: t0.Add(-time.Hour)}, true) // found from the front, behind
	if got := h.pos[0]; got.id != 5 {
		t.Errorf("full-scan record left the position at %d, want 5", got.id)
	}
	for i := range maxHints + 10 {
		h.record(&Job{ID: int64(100 + i), Priority: int16(i + 1), RunAt: t0}, true)
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
