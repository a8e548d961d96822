package main

import (
	"testing"
	"time"
)

// TestIOJobCount: -io-seconds sizes each system's run by its own limit,
// within ten rounds of its slots and -io-jobs; without it every system
// gets -io-jobs.
func TestIOJobCount(t *testing.T) {
	ms50 := 50 * time.Millisecond
	for _, c := range []struct {
		name      string
		slots     int
		sleep     time.Duration
		seconds   float64
		perSystem int
		want      int
	}{
		{"no seconds: the same for all", 18, ms50, 0, 5000, 5000},
		{"default mode: 360 jobs/s for 10 s", 18, ms50, 10, 200_000, 3600},
		{"a pool of 2,000 at 500 ms: 4,000 jobs/s for 10 s", 2000, 500 * time.Millisecond, 10, 200_000, 40_000},
		{"capped by -io-jobs", 2000, ms50, 10, 200_000, 200_000},
		{"at least ten rounds of the slots", 2000, time.Second, 1, 200_000, 20_000},
	} {
		if got := ioJobCount(c.slots, c.sleep, c.seconds, c.perSystem); got != c.want {
			t.Errorf("%s: ioJobCount(%d, %s, %g, %d) = %d, want %d", c.name, c.slots, c.sleep, c.seconds, c.perSystem, got, c.want)
		}
	}
}
