package gue

import "testing"

// A lock attempt that found nothing marks its lane quiet, unless the lane
// was woken while the attempt ran: the woken-for job may have committed
// after the attempt's snapshot, and would wait for the next probe.
func TestMarkQuietAfterAWakeLeavesTheLaneAwake(t *testing.T) {
	l := newLanes([]string{"q"}, 0)[0]

	seen := l.wakes.Load()
	l.markQuiet(seen)
	if !l.quiet.Load() {
		t.Fatal("control: a miss with no wake-up since did not mark the lane quiet")
	}

	l.wake()
	seen = l.wakes.Load()
	l.wake() // a NOTIFY while the attempt runs
	l.markQuiet(seen)
	if l.quiet.Load() {
		t.Error("a wake-up during the attempt was lost: the lane is quiet")
	}
}
