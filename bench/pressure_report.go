package main

import (
	"fmt"
	"io"
	"time"
)

// reportPressure writes the table of measurePressure's results.
func reportPressure(w io.Writer, rs []pressureResult, workers, depth int, window, hold time.Duration) {
	fmt.Fprintf(w, "\nUnder pressure: %d workers, the queue kept at %d jobs; jobs/s over %s before, during %s of pressure "+
		"(holder: a transaction with an ID, idle; readers: 4 REPEATABLE READ readers counting gue_jobs, each snapshot held 1 s), and %s after; "+
		"recovered: after the pressure, when the rate over a second first reached 0.9 of the rate before; "+
		"pickup: from a job's enqueue to the start of its handler (with the queue kept at a depth, mostly the wait behind it); "+
		"lock: the server's execution time of the statements that take jobs (pg_stat_statements: SKIP LOCKED or advisory try-locks), per job worked, and per statement\n\n", workers, depth, window, hold, window)
	fmt.Fprintln(w, "| system | pressure | before | during | after | dead tuples of the jobs' table at its end | recovered after | pickup p99 before / during / after | lock µs per job before / during / after | lock ms per statement before / during / after |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	var why error
	for _, r := range rs {
		rec := "not within the window"
		if r.recoveredOK {
			rec = r.recovered.Round(100 * time.Millisecond).String()
		}
		pickup := "—"
		if r.timed {
			pickup = fmt.Sprintf("%s / %s / %s", roundLatency(r.pickup[0]), roundLatency(r.pickup[1]), roundLatency(r.pickup[2]))
		}
		perJob, perCall := "—", "—"
		if r.lockErr == nil {
			perJob = fmt.Sprintf("%.1f / %.1f / %.1f", r.lock[0].perJobUs(), r.lock[1].perJobUs(), r.lock[2].perJobUs())
			perCall = fmt.Sprintf("%.3f / %.3f / %.3f", r.lock[0].perCall(), r.lock[1].perCall(), r.lock[2].perCall())
		} else {
			why = r.lockErr
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %.0f (%.2f×) | %.0f (%.2f×) | %d | %s | %s | %s | %s |\n", r.name, r.kind, r.before,
			r.during, r.during/max(r.before, 1), r.after, r.after/max(r.before, 1), r.dead, rec, pickup, perJob, perCall)
	}
	if why != nil {
		fmt.Fprintf(w, "\nNo lock figures (—): %v\n", why)
	}
}

// roundLatency rounds d to what a reader compares: 1 ms above 100 ms, 0.1
// ms below.
func roundLatency(d time.Duration) time.Duration {
	if d >= 100*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Microsecond)
}
