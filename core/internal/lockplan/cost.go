package lockplan

import (
	"slices"
	"time"
)

// The cost of the scans from the front.
//
// While someone else's transaction holds back the cleanup horizon (an idle
// transaction with an ID, a long report), every job worked leaves an index
// entry at the front of its queue that VACUUM may not remove, and a scan
// from the front walks them all: at batch mode's rate, millions of them
// within a minute, and a scan took from 50 ms to 0.9 s, once a second and
// after each miss (39 s of scanning in 60 s in one run of bench -pressure).
// The hinted queries start past them and stay fast.
//
// So a pool spaces its scans from the front by what they cost, but only
// when they cost much more than its hinted queries did in the same stretch:
// a loaded machine, or a cold connection, slows both alike, and then the
// scans stay as they were (a job behind the hints is found within a
// second). The space is bounded (RescanMaxGap): a job behind the hints
// waits longer under such pressure, never indefinitely, and none is lost.
const (
	// RescanCostFactor: the next scan from the front starts no sooner
	// than this many times the cost of the last ones after the last one
	// ended, so that they take about a twentieth of a pool's time however
	// slow they get.
	RescanCostFactor = 20
	// RescanCostFloor: scans from the front that took less are cheap
	// whatever the hinted queries cost.
	RescanCostFloor = 100 * time.Millisecond
	// RescanCostRatio: scans from the front that took less than this many
	// times the hinted queries' average are cheap: what slows both is not
	// the dead entries.
	RescanCostRatio = 10
	// RescanMaxGap bounds the space between two scans from the front, and
	// so the wait of a job behind the hints.
	RescanMaxGap = 10 * time.Second
	// fullSamples is how many scans from the front must all have been
	// slow: one slow scan is as likely a stall of the machine.
	fullSamples = 3
)

// costs is what a pool's hints know of its lock queries' cost. The
// Hints' mu guards it.
type costs struct {
	// hinted is a moving average of the hinted queries' cost (Seek and
	// Hinted), each new one weighing an eighth.
	hinted time.Duration
	// full holds the cost of the last scans from the front, the n-th at
	// full[n%fullSamples].
	full [fullSamples]time.Duration
	n    int
	// started and ended are when the last scan from the front was planned
	// or sent, and when the last one ended.
	started, ended time.Time
}

// ran records that a query of kind k took took, ending at now.
func (c *costs) ran(k Kind, took time.Duration, now time.Time) {
	if k != Full {
		if c.hinted == 0 {
			c.hinted = took
		} else {
			c.hinted += (took - c.hinted) / 8
		}
		return
	}
	c.full[c.n%fullSamples] = took
	c.n++
	c.ended = now
}

// gap is how long after one scan from the front ends the next may start:
// 0 while they are cheap (see the constants).
func (c *costs) gap() time.Duration {
	if c.n < fullSamples {
		return 0
	}
	least := slices.Min(c.full[:])
	if least < RescanCostFloor || least < RescanCostRatio*c.hinted {
		return 0
	}
	return min(RescanCostFactor*least, RescanMaxGap)
}

// wait is how long from now until a scan from the front may start: 0 when
// it may now. While one runs (started and not ended, for at most
// RescanMaxGap: its end may never be recorded when its statement failed),
// the next waits the whole gap.
func (c *costs) wait(now time.Time) time.Duration {
	g := c.gap()
	if g == 0 {
		return 0
	}
	if c.started.After(c.ended) && now.Sub(c.started) < RescanMaxGap {
		return g
	}
	return max(0, c.ended.Add(g).Sub(now))
}
