package lockplan

import (
	"testing"
	"time"
)

// Scans from the front are spaced only when each of the last fullSamples
// took RescanCostFloor or more and RescanCostRatio times the hinted
// queries' average: a machine that slows both alike (load, a cold
// connection) keeps them as they were. The first case is the control:
// the same calls with slow scans and fast hinted queries do space them.
func TestLockHintsSpaceOnlyScansSlowerThanHinted(t *testing.T) {
	slow := 500 * time.Millisecond
	for _, c := range []struct {
		name         string
		full, hinted time.Duration
		samples      int
		want         time.Duration
	}{
		{"slow scans, fast hinted queries", slow, 2 * time.Millisecond, fullSamples, RescanCostFactor * slow},
		{"fewer scans than fullSamples", slow, 2 * time.Millisecond, fullSamples - 1, 0},
		{"a loaded machine: hinted queries slow too", slow, slow / 2, fullSamples, 0},
		{"scans under the floor", RescanCostFloor - time.Millisecond, time.Microsecond, fullSamples, 0},
		{"very slow scans: bounded", 5 * time.Second, time.Millisecond, fullSamples, RescanMaxGap},
	} {
		h := NewHints(EmptyRescanGap)
		h.Record(0, Pos{time.Now(), 1}, Plan{Full: true})
		cur := NewCursor(h)
		for range 20 {
			cur.Ran(Step{Kind: Hinted}, c.hinted)
			cur.Ran(Step{Kind: Seek}, c.hinted)
		}
		for range c.samples {
			cur.Ran(Step{Kind: Full}, c.full)
		}
		if got := h.cost.gap(); got != c.want {
			t.Errorf("%s: gap = %s, want %s", c.name, got, c.want)
		}
	}
	// One fast scan among slow ones is enough to end the spacing: the
	// dead entries were removed.
	h := NewHints(EmptyRescanGap)
	cur := NewCursor(h)
	cur.Ran(Step{Kind: Hinted}, time.Millisecond)
	for _, d := range []time.Duration{slow, slow, slow, time.Millisecond} {
		cur.Ran(Step{Kind: Full}, d)
	}
	if got := h.cost.gap(); got != 0 {
		t.Errorf("a fast scan after slow ones: gap = %s, want 0", got)
	}
}

// While scans from the front are slow, the periodic one waits the gap after
// the last one ended (RescanEvery no longer suffices), a missed hinted
// query is not followed by one (the cursor says how long until it may be,
// for the worker's loop), and one in flight keeps the others from starting
// beside it. Control: the same calls with fast scans behave as always.
func TestLockHintsSlowRescansAreDeferred(t *testing.T) {
	for _, slowScans := range []bool{false, true} {
		full := 400 * time.Millisecond
		if !slowScans {
			full = time.Millisecond
		}
		h := NewHints(EmptyRescanGap)
		h.Record(0, Pos{time.Now(), 1}, Plan{Full: true})
		cur := NewCursor(h)
		cur.Ran(Step{Kind: Hinted}, time.Millisecond)
		for range fullSamples {
			cur.Ran(Step{Kind: Full}, full)
		}
		gap := RescanCostFactor * full
		h.lastFull = time.Now().Add(-2 * RescanEvery)
		if got := h.Plan().Full; got == slowScans {
			t.Errorf("slow scans %v, the last one ended just now: periodic scan planned = %v", slowScans, got)
		}
		hinted := cur.FirstBatch("q")
		next, ok := cur.AfterMiss(hinted, "q")
		switch {
		case slowScans && (ok || cur.Deferred <= 0 || cur.Deferred > gap):
			t.Errorf("slow scans: after a miss = %v, %v, deferred %s; want none, deferred by up to %s", next.Kind, ok, cur.Deferred, gap)
		case !slowScans && (!ok || next.Kind != Full || cur.Deferred != 0):
			t.Errorf("fast scans: after a miss = %v, %v, deferred %s; want a scan from the front", next.Kind, ok, cur.Deferred)
		}
		if cur.FirstBatch("q"); cur.Deferred != 0 {
			t.Errorf("slow scans %v: FirstBatch left Deferred at %s", slowScans, cur.Deferred)
		}
		if !slowScans {
			continue
		}
		// The gap passed: the periodic scan is due, and while it runs
		// no other starts, after a miss or periodic.
		h.cost.ended = time.Now().Add(-gap)
		h.lastFull = time.Now().Add(-2 * RescanEvery)
		if !h.Plan().Full {
			t.Error("slow scans, the gap passed: want the periodic scan")
		}
		if ok, wait := h.RescanAfterMiss(false); ok || wait != gap {
			t.Errorf("slow scans, one in flight: RescanAfterMiss = %v, %s; want none, %s", ok, wait, gap)
		}
		// Its end is recorded: the next waits the gap from then.
		cur.Ran(Step{Kind: Full}, full)
		if ok, wait := h.RescanAfterMiss(false); ok || wait <= gap-time.Second || wait > gap {
			t.Errorf("slow scans, one just ended: RescanAfterMiss = %v, %s; want none, about %s", ok, wait, gap)
		}
		// A lone worker (Worker.WorkOne, emptyGap 0) always looks.
		lone := NewHints(0)
		lone.cost = h.cost
		if ok, _ := lone.RescanAfterMiss(true); !ok {
			t.Error("a lone worker with slow scans: want a scan after a miss")
		}
	}
}
