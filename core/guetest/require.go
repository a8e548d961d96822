package guetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// lookTimeout bounds the statements of one check.
const lookTimeout = 30 * time.Second

// scanLimit bounds the jobs one check reads: a test's queue holds a
// handful; past this many, the check fails rather than read on.
const scanLimit = 10_000

// closestShown is how many near misses a failure lists.
const closestShown = 5

// RequireEnqueued fails t unless exactly one job in pool's database matches
// want, and returns it with its args. A failure lists the closest jobs found
// and how each differs; with several matches it lists them (see
// RequireEnqueuedN).
func RequireEnqueued(t testing.TB, pool adapter.ConnPool, want Match) gue.JobInfo {
	t.Helper()
	found := find(t, pool, want)
	if len(found.matched) != 1 {
		t.Fatalf("guetest: want 1 job matching %s, found %d%s", want, len(found.matched), found.explain(t))
	}
	return found.matched[0]
}

// RequireEnqueuedN fails t unless exactly n jobs match want, and returns
// them (with their args), ordered by queue and ID.
func RequireEnqueuedN(t testing.TB, pool adapter.ConnPool, want Match, n int) []gue.JobInfo {
	t.Helper()
	if n < 0 {
		t.Fatalf("guetest: RequireEnqueuedN with n = %d; want n >= 0", n)
	}
	found := find(t, pool, want)
	if len(found.matched) != n {
		t.Fatalf("guetest: want %d jobs matching %s, found %d%s", n, want, len(found.matched), found.explain(t))
	}
	return found.matched
}

// RequireNotEnqueued fails t if any job matches want, listing them.
func RequireNotEnqueued(t testing.TB, pool adapter.ConnPool, want Match) {
	t.Helper()
	found := find(t, pool, want)
	if len(found.matched) != 0 {
		t.Fatalf("guetest: want no job matching %s, found %d%s", want, len(found.matched), found.explain(t))
	}
}

// findings is what one look found: the matching jobs, and the others with
// how they differ.
type findings struct {
	matched []gue.JobInfo
	missed  []miss
	scanned int
	// c and want are the look's, for reading the args a failure shows.
	c    *gue.Client
	want Match
}

type miss struct {
	job  gue.JobInfo
	diff []string
}

// find reads the jobs want could match and sorts them into findings; a
// bad Match or a failed statement fails t.
func find(t testing.TB, pool adapter.ConnPool, want Match) findings {
	t.Helper()
	if pool == nil {
		t.Fatalf("guetest: nil pool")
	}
	if err := want.check(); err != nil {
		t.Fatalf("guetest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookTimeout)
	defer cancel()
	c := gue.NewClient(pool, gue.WithClientSchema(want.Schema), gue.WithClientLogger(adapter.NoOpLogger{}))
	var f findings
	states := []gue.JobState{want.State}
	if want.State == "" {
		// Every live job, and the dead ones as near misses: a job that
		// died is often the answer to "where did it go?".
		states = append(states, gue.StateDead)
	}
	for _, state := range states {
		filter := gue.JobFilter{Queue: want.Queue, QueueSet: want.queueSet(), State: state, Limit: 1000}
		for {
			page, err := c.ListJobs(ctx, filter)
			if err != nil {
				t.Fatalf("guetest: list jobs for %s: %v", want, err)
			}
			for _, j := range page.Jobs {
				f.scanned++
				f.sort(ctx, t, c, want, j, state == want.State)
			}
			if page.Next == nil {
				break
			}
			if f.scanned >= scanLimit {
				t.Fatalf("guetest: more than %d jobs to look through for %s; narrow the Match (Queue, State)", scanLimit, want)
			}
			filter.After = page.Next
		}
	}
	sort.Slice(f.matched, func(a, b int) bool { return before(f.matched[a], f.matched[b]) })
	sort.SliceStable(f.missed, func(a, b int) bool { return len(f.missed[a].diff) < len(f.missed[b].diff) })
	f.c, f.want = c, want
	return f
}

// sort files j as a match or a miss; eligible is false for the dead jobs
// read only as near misses of a Match of live jobs. A match is read again
// with its args, which a listing leaves out.
func (f *findings) sort(ctx context.Context, t testing.TB, c *gue.Client, want Match, j gue.JobInfo, eligible bool) {
	t.Helper()
	diff := want.cheapMisses(j)
	if !eligible {
		diff = append(diff, "State dead")
	}
	if len(diff) == 0 {
		j = withArgs(ctx, t, c, j)
		diff = want.argsMisses(j.Args)
	}
	if len(diff) == 0 {
		f.matched = append(f.matched, j)
		return
	}
	f.missed = append(f.missed, miss{job: j, diff: diff})
}

// showArgs reads the args of the misses a failure shows, and adds how they
// differ where that was not known yet.
func (f *findings) showArgs(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lookTimeout)
	defer cancel()
	for i := range f.missed[:min(len(f.missed), closestShown)] {
		m := &f.missed[i]
		if m.job.Args != nil {
			continue
		}
		m.job = withArgs(ctx, t, f.c, m.job)
		m.diff = append(m.diff, f.want.argsMisses(m.job.Args)...)
	}
}

// withArgs reads j again with its args.
func withArgs(ctx context.Context, t testing.TB, c *gue.Client, j gue.JobInfo) gue.JobInfo {
	t.Helper()
	full, err := c.GetJob(ctx, j.Queue, j.ID)
	if err != nil {
		t.Fatalf("guetest: read job %d of queue %s: %v", j.ID, quoted(j.Queue), err)
	}
	return *full
}

// explain lists what a failure shows: the matches when there were any,
// else the closest misses.
func (f *findings) explain(t testing.TB) string {
	t.Helper()
	f.showArgs(t)
	var b strings.Builder
	if len(f.matched) > 0 {
		b.WriteString(":")
		for i, j := range f.matched {
			if i == closestShown {
				fmt.Fprintf(&b, "\n  … and %d more", len(f.matched)-closestShown)
				break
			}
			b.WriteString("\n  " + describe(j))
		}
		return b.String()
	}
	if len(f.missed) == 0 {
		fmt.Fprintf(&b, " (%d jobs looked at: the queue is empty)", f.scanned)
		return b.String()
	}
	fmt.Fprintf(&b, "; the closest of the %d jobs looked at:", f.scanned)
	for i, m := range f.missed {
		if i == closestShown {
			break
		}
		fmt.Fprintf(&b, "\n  %s\n    differs in: %s", describe(m.job), strings.Join(m.diff, "; "))
	}
	return b.String()
}

// describe shows a job on one line, its strings escaped.
func describe(j gue.JobInfo) string {
	s := fmt.Sprintf("job %d queue=%s type=%s state=%s priority=%d run_at=%s", j.ID, quoted(j.Queue), quoted(j.Type),
		j.State, j.Priority, j.RunAt.UTC().Format(time.RFC3339Nano))
	if j.Args != nil {
		s += " args=" + compact(j.Args)
	}
	if j.UniqueKey != "" {
		s += " unique_key=" + quoted(j.UniqueKey)
	}
	if j.ErrorCount > 0 {
		s += fmt.Sprintf(" errors=%d last_error=%s", j.ErrorCount, quoted(j.LastError))
	}
	return s
}

func before(a, b gue.JobInfo) bool {
	if a.Queue != b.Queue {
		return a.Queue < b.Queue
	}
	return a.ID < b.ID
}
