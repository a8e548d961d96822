package gue

import (
	"testing"
	"time"
)

func TestLockCursorSteps(t *testing.T) {
	stmts := newQueries("public")
	var none *lockCursor
	if s := none.first(stmts, "q"); s.kind != lockFull {
		t.Errorf("a nil cursor starts with %v; want a full query", s.kind)
	}
	if _, ok := none.afterMiss(lockStep{kind: lockFull}, stmts, "q"); ok {
		t.Error("a nil cursor tries again after a full query")
	}

	cur := newLockCursor(newLockHints(emptyRescanGap))
	if s := cur.first(stmts, "q"); s.kind != lockFull {
		t.Errorf("empty hints start with %v; want full", s.kind)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cur.found(lockStep{plan: lockPlan{full: true}}, 0, lockPos{t0, 1})
	seek := cur.first(stmts, "q")
	if seek.kind != lockSeek || seek.sql != stmts.lockSeek {
		t.Fatalf("one hinted priority starts with %v; want a seek", seek.kind)
	}
	hinted, ok := cur.afterMiss(seek, stmts, "q")
	if !ok || hinted.kind != lockHinted || !hinted.afterSeek || hinted.sql != stmts.lockHinted {
		t.Fatalf("after a missed seek: %+v, %v; want the hinted query", hinted, ok)
	}
	cur.outcome(hinted, true) // the hinted query found what the seek could not
	if s := cur.first(stmts, "q"); s.kind != lockHinted {
		t.Errorf("after the seek missed a job the hinted query found, start with %v; want hinted", s.kind)
	}
	full, ok := cur.afterMiss(hinted, stmts, "q")
	if !ok || full.kind != lockFull || full.args[1] != noHints.prios {
		t.Fatalf("after a missed hinted query: %+v, %v; want a full query", full, ok)
	}
	cur.outcome(full, false) // empty: a worker coming from a job skips the next one
	cur.fromJob = true
	if _, ok := cur.afterMiss(hinted, stmts, "q"); ok {
		t.Error("a worker straight from a job ran a full query right after an empty one")
	}
	cur.fromJob = false
	if _, ok := cur.afterMiss(hinted, stmts, "q"); !ok {
		t.Error("a woken or polling worker did not look behind the hints")
	}
}
