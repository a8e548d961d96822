package gueui_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gue "github.com/gue-go/gue/core"
	gueui "github.com/gue-go/gue/ui"
)

// browser starts Debian's chromium, headless, driven by chromedp. The
// browser tests need it; scripts/test-env.sh installs it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run scripts/test-env.sh (or apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI containers
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute) // a hung browser, not a speed target
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshot saves the page to $GUEUI_SCREENSHOTS/name.png when set (the
// README's pictures are made this way).
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("GUEUI_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// An operator loads the overview, filters jobs, opens one, retries a dead
// job and pauses and resumes a queue, in a real browser; each step is
// checked in the page and in the database.
func TestInABrowser(t *testing.T) {
	f := newFixture(t, gueui.WithActions(true))
	ctx := context.Background()
	for range 3 {
		f.enqueue(&gue.Job{Type: "SendEmail", Queue: "emails", Args: []byte(`{"to":"ann@example.com"}`)})
	}
	f.enqueue(&gue.Job{Type: "BuildReport", Queue: "reports", RunAt: time.Now().Add(time.Hour)})
	dead := f.enqueue(&gue.Job{Type: "SendEmail", Queue: "emails", Args: []byte(`{"to":"<script>bob</script>","attempt":3}`)})
	if _, err := f.pgx.Exec(ctx, `UPDATE gue_jobs SET error_count = 3, last_error = 'smtp: 550 <mailbox unavailable>' WHERE job_id = $1`, dead.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.client.Cancel(ctx, "emails", dead.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pgx.Exec(ctx, `INSERT INTO gue_periodic (name, next_run_at) VALUES ('nightly-report', now() + interval '3 hours')`); err != nil {
		t.Fatal(err)
	}
	// An hour of throughput as pools' heartbeats would have written it.
	if _, err := f.pgx.Exec(ctx, `INSERT INTO gue_throughput (queue, minute, worked, failed)
SELECT 'emails', date_trunc('minute', now()) - m * interval '1 minute', 400 + (m * 37) % 300, (m * 7) % 20 FROM generate_series(0, 59) m`); err != nil {
		t.Fatal(err)
	}
	b := browser(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	// Overview: both queues with their counts.
	do("open the overview", chromedp.Navigate(f.base), chromedp.WaitVisible(chromedp.CSS("table")))
	if overview := text("main"); !strings.Contains(overview, "emails") || !strings.Contains(overview, "reports") || !strings.Contains(overview, "Throughput") ||
		!strings.Contains(overview, "failed; busiest minute") {
		t.Fatalf("overview:\n%s", overview)
	}
	screenshot(t, b, "overview")

	// Jobs: filter the dead jobs of emails.
	do("filter the dead jobs of emails",
		chromedp.Click(chromedp.CSS(`nav a[href="jobs"]`)), chromedp.WaitVisible(chromedp.CSS(`form.filters`)),
		chromedp.SetValue(chromedp.CSS(`select[name="queue"]`), "=emails"),
		chromedp.SetValue(chromedp.CSS(`select[name="state"]`), "dead"),
		chromedp.Click(chromedp.CSS(`form.filters button`)), chromedp.WaitVisible(chromedp.CSS(`span.state.dead`)))
	if jobs := text("tbody"); !strings.Contains(jobs, "dead") || strings.Contains(jobs, "ready") || !strings.Contains(jobs, "smtp: 550 <mailbox unavailable>") {
		t.Fatalf("filtered jobs:\n%s", jobs)
	}
	screenshot(t, b, "dead-jobs")

	// Open it: args pretty-printed, the markup shown as text, not run.
	do("open the job", chromedp.Click(chromedp.CSS(`tbody a`)), chromedp.WaitVisible(chromedp.CSS(`pre.args`)))
	scripts, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll("script").length`))
	if err != nil {
		t.Fatal(err)
	}
	if args := text("pre.args"); !strings.Contains(args, `"to": "<script>bob</script>"`) || scripts != 0 {
		t.Fatalf("job page: args %q, %d script elements", args, scripts)
	}
	screenshot(t, b, "job")

	// Retry it.
	do("retry the job", chromedp.Click(chromedp.CSS(`button[formaction="actions/retry"]`)), chromedp.WaitVisible(chromedp.CSS(`p.msg`)))
	if msg := text("p.msg"); !strings.Contains(msg, "1 job(s) retried") {
		t.Errorf("after retry: %q", msg)
	}
	if f.count(`SELECT count(*) FROM gue_jobs_dead`) != 0 || f.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1 AND run_at <= now()`, dead.ID) != 1 {
		t.Error("the dead job is not back in its queue, ready")
	}

	// Pause and resume emails from the overview.
	do("pause emails", chromedp.Navigate(f.base), chromedp.WaitVisible(chromedp.CSS(`button[aria-label="Pause emails"]`)),
		chromedp.Click(chromedp.CSS(`button[aria-label="Pause emails"]`)), chromedp.WaitVisible(chromedp.CSS(`button[aria-label="Resume emails"]`)))
	if f.count(`SELECT count(*) FROM gue_queues_paused WHERE queue = 'emails'`) != 1 || !strings.Contains(text("main"), "paused") {
		t.Error("pause: the queue is not paused")
	}
	screenshot(t, b, "overview-paused")
	do("resume emails", chromedp.Click(chromedp.CSS(`button[aria-label="Resume emails"]`)), chromedp.WaitVisible(chromedp.CSS(`button[aria-label="Pause emails"]`)))
	if f.count(`SELECT count(*) FROM gue_queues_paused`) != 0 {
		t.Error("resume: the queue is still paused")
	}

	// The periodic page shows the schedule.
	do("open periodic", chromedp.Navigate(f.base+"periodic"), chromedp.WaitVisible(chromedp.CSS("table")))
	if periodic := text("tbody"); !strings.Contains(periodic, "nightly-report") {
		t.Errorf("periodic page:\n%s", periodic)
	}
}
