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

// A hinted query reaches only the jobs past its priority's position (all of
// a priority it has none for); a query from the front reaches every job.
func TestStepReaches(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := NewHints(EmptyRescanGap)
	h.Record(0, Pos{t0, 10}, Plan{Full: true})
	h.Record(1, Pos{t0, 20}, Plan{Full: true})
	h.lastFull = time.Now() // the periodic scan from the front is not due
	cur := NewCursor(h)
	hinted := cur.FirstBatch("q")
	if hinted.Kind != Hinted {
		t.Fatalf("first batch step %v, want the hinted query", hinted.Kind)
	}
	h.Record(0, Pos{t0.Add(time.Hour), 99}, Plan{Full: true}) // later moves do not change a step planned before
	for _, c := range []struct {
		prio int16
		pos  Pos
		want bool
	}{
		{0, Pos{t0, 10}, false},
		{0, Pos{t0, 9}, false},
		{0, Pos{t0.Add(-time.Second), 50}, false},
		{0, Pos{t0, 11}, true},
		{0, Pos{t0.Add(time.Microsecond), 1}, true},
		{1, Pos{t0, 20}, false},
		{1, Pos{t0, 21}, true},
		{2, Pos{t0.Add(-time.Hour), 1}, true}, // no position: from the front
	} {
		if got := hinted.Reaches(c.prio, c.pos); got != c.want {
			t.Errorf("hinted step reaches priority %d at %+v: %v, want %v", c.prio, c.pos, got, c.want)
		}
		if !fullStep(Plan{}, "q").Reaches(c.prio, c.pos) {
			t.Errorf("a step from the front does not reach priority %d at %+v", c.prio, c.pos)
		}
	}
}
