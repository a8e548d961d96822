package lockplan

import (
	"testing"
	"time"
)

func TestCursorSteps(t *testing.T) {
	var none *Cursor
	if s := none.First("q"); s.Kind != Full {
		t.Errorf("a nil cursor starts with %v; want a full query", s.Kind)
	}
	if _, ok := none.AfterMiss(Step{Kind: Full}, "q"); ok {
		t.Error("a nil cursor tries again after a full query")
	}
	hintless := NewCursor(nil)
	if s := hintless.First("q"); s.Kind != Full || s.Args[0] != "q" {
		t.Errorf("a cursor without hints starts with %+v; want a full query of queue q", s)
	}

	cur := NewCursor(NewHints(EmptyRescanGap))
	if s := cur.First("q"); s.Kind != Full {
		t.Errorf("empty hints start with %v; want full", s.Kind)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cur.Found(Step{Plan: Plan{Full: true}}, 0, Pos{t0, 1})
	seek := cur.First("q")
	if seek.Kind != Seek || seek.Args[0] != "q" || seek.Args[3] != int64(1) {
		t.Fatalf("one hinted priority starts with %+v; want a seek past job 1", seek)
	}
	hinted, ok := cur.AfterMiss(seek, "q")
	if !ok || hinted.Kind != Hinted || !hinted.afterSeek {
		t.Fatalf("after a missed seek: %+v, %v; want the hinted query", hinted, ok)
	}
	cur.Outcome(hinted, true) // the hinted query found what the seek could not
	if s := cur.First("q"); s.Kind != Hinted {
		t.Errorf("after the seek missed a job the hinted query found, start with %v; want hinted", s.Kind)
	}
	full, ok := cur.AfterMiss(hinted, "q")
	if !ok || full.Kind != Full || full.Args[1] != NoHints.Prios {
		t.Fatalf("after a missed hinted query: %+v, %v; want a full query", full, ok)
	}
	cur.Outcome(full, false) // empty: a worker coming from a job skips the next one
	cur.FromJob = true
	if _, ok := cur.AfterMiss(hinted, "q"); ok {
		t.Error("a worker straight from a job ran a full query right after an empty one")
	}
	cur.FromJob = false
	if _, ok := cur.AfterMiss(hinted, "q"); !ok {
		t.Error("a woken or polling worker did not look behind the hints")
	}
	cur.RescanSoon()
	if s := cur.First("q"); s.Kind != Full {
		t.Errorf("after RescanSoon the next query is %v; want full", s.Kind)
	}
}

// A batch's lock statement has no seek: where a single worker would seek
// at the one priority its hints name, a batch runs the general hinted
// query with that priority's position; the first and a nil cursor's are
// full.
func TestCursorFirstBatch(t *testing.T) {
	var none *Cursor
	if s := none.FirstBatch("q"); s.Kind != Full || s.Args[1] != NoHints.Prios {
		t.Errorf("a nil cursor starts a batch with %+v; want a full query", s)
	}
	cur := NewCursor(NewHints(EmptyRescanGap))
	if s := cur.FirstBatch("q"); s.Kind != Full {
		t.Errorf("empty hints start a batch with %v; want full", s.Kind)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cur.Found(Step{Plan: Plan{Full: true}}, 3, Pos{t0, 7})
	if s := cur.First("q"); s.Kind != Seek {
		t.Fatalf("the control: one hinted priority starts a single lock with %v; want a seek", s.Kind)
	}
	s := cur.FirstBatch("q")
	if s.Kind != Hinted || s.Args[0] != "q" || s.Args[1] != "{3}" || s.Args[3] != "{7}" {
		t.Fatalf("one hinted priority starts a batch with %+v; want the hinted query past job 7 of priority 3", s)
	}
	if next, ok := cur.AfterMiss(s, "q"); !ok || next.Kind != Full {
		t.Errorf("after a batch's hinted query found nothing: %+v, %v; want a full query", next, ok)
	}
}
