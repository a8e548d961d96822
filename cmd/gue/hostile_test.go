package main_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	gue "github.com/gue-go/gue/core"
	pgxv5 "github.com/gue-go/gue/driver-pgxv5"
)

// Job data is written by whoever enqueues: the CLI must show it without
// letting it act on the operator's terminal.
func TestHostileJobDataIsShownEscaped(t *testing.T) {
	d := newDB(t, true)
	ctx := context.Background()
	c := gue.NewClient(pgxv5.NewConnPool(d.pool))
	const (
		title = "\x1b]0;owned\x07" // OSC: retitles the terminal
		clear = "\x1b[2J"          // CSI: clears the screen
		c1CSI = "\u009b31m"        // the one-rune CSI of 8-bit terminals
		bidi  = "\u202eexe.txt"    // right-to-left override
		queue = "q" + clear
		typ   = "T" + title + bidi
	)
	j := &gue.Job{Type: typ, Queue: queue, UniqueKey: "k" + c1CSI, Args: []byte(`{"a":"` + c1CSI + `"}`),
		Metadata: map[string]string{"m" + clear: "v" + title}}
	if err := c.Enqueue(ctx, j); err != nil {
		t.Fatal(err)
	}
	if _, err := d.pool.Exec(ctx, `UPDATE gue_jobs SET last_error = $3 WHERE queue = $1 AND job_id = $2`,
		queue, j.ID, "boom"+clear+"\nsecond line"+title); err != nil {
		t.Fatal(err)
	}
	if _, err := d.pool.Exec(ctx, `INSERT INTO gue_pools (pool_id, host, pid, queues, workers) VALUES ($1, $2, 1, $3, 1)`,
		"pool"+clear, "host"+title, []string{queue}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.pool.Exec(ctx, `INSERT INTO gue_periodic (name, next_run_at) VALUES ($1, '2030-01-01T00:00:00Z')`, "nightly"+title); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{
		{"list"},
		{"show", fmt.Sprint(j.ID)},
		{"stats"},
		{"pools"},
		{"periodic", "list"},
		{"stats", "--queue", "nope" + clear}, // an error message naming the input
	} {
		r := d.gue("", args...)
		out := r.stdout + r.stderr
		for _, raw := range []string{"\x1b", "\x07", "\u009b", "\u202e"} {
			if strings.Contains(out, raw) {
				t.Errorf("gue %s printed the raw control %q:\n%s", strings.Join(args, " "), raw, out)
			}
		}
		// The control case: the data was printed, escaped.
		if !strings.Contains(out, `\x1b`) {
			t.Errorf("gue %s did not show the escaped data:\n%s", strings.Join(args, " "), out)
		}
		if strings.Contains(out, "gue: gue:") {
			t.Errorf("gue %s doubles its prefix: %s", strings.Join(args, " "), r.stderr)
		}
	}

	// JSON stays exact: the same bytes come back.
	page := decode[struct{ Jobs []gue.JobInfo }](t, d.gue("", "list", "--json").want(t, 0, "list --json"))
	if len(page.Jobs) != 1 || page.Jobs[0].Type != typ || page.Jobs[0].Queue != queue {
		t.Errorf("list --json changed the data: %+q", page.Jobs)
	}
	show := decode[gue.JobInfo](t, d.gue("", "show", fmt.Sprint(j.ID), "--json").want(t, 0, "show --json"))
	if show.Metadata["m"+clear] != "v"+title || show.UniqueKey != "k"+c1CSI {
		t.Errorf("show --json changed the data: %+q", show)
	}
	if r := d.gue("", "show", "999999").want(t, 1, "show unknown ID"); strings.Count(r.stderr, "gue:") != 1 {
		t.Errorf("error message: %q", r.stderr)
	}
}

// enqueue --stdin refuses a line that is not valid UTF-8 or too long, like
// any malformed line, and says exactly which lines were not written.
func TestEnqueueStdinRefusesBadLines(t *testing.T) {
	d := newDB(t, true)
	long := `{"type":"Long","args":"` + strings.Repeat("a", 17<<20) + `"}`
	for _, tc := range []struct {
		name, bad, report string
	}{
		{"invalid UTF-8", `{"type":"caf` + "\xe9" + `"}`, "line 2: not valid UTF-8"},
		{"17 MB", long, "line 2: longer than 16 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			queue := strings.ReplaceAll(tc.name, " ", "-")
			good := func(n int) string { return fmt.Sprintf(`{"type":"Good","queue":%q,"args":{"n":%d}}`, queue, n) }
			in := good(1) + "\n" + tc.bad + "\n" + good(3) + "\n"

			// Chunks of one: only the bad line is not written.
			r := d.gue(in, "enqueue", "--stdin", "--chunk", "1").want(t, 1, "a bad line")
			if !strings.Contains(r.stderr, tc.report) || !strings.Contains(r.stderr, "line 2 not written") || !strings.Contains(r.stdout, "enqueued 2 job(s)") {
				t.Errorf("report:\nstdout %s\nstderr %s", r.stdout, r.stderr)
			}
			if n := d.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1 AND job_type = 'Good'`, queue); n != 2 {
				t.Errorf("%d good jobs written, want 2", n)
			}
			// One chunk: the bad line sinks its chunk, and the report says so.
			r = d.gue(in, "enqueue", "--stdin").want(t, 1, "a bad line in the only chunk")
			if !strings.Contains(r.stderr, tc.report) || !strings.Contains(r.stderr, "lines 1–3 not written") || !strings.Contains(r.stdout, "enqueued 0 job(s)") {
				t.Errorf("report:\nstdout %s\nstderr %s", r.stdout, r.stderr)
			}
			if n := d.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1 OR job_type NOT IN ('Good')`, queue); n != 2 {
				t.Errorf("%d jobs in all, want the 2 of the first run", n)
			}
		})
	}
}
