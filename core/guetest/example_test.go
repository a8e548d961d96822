package guetest_test

import (
	"context"
	"testing"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/guetest"
)

// pool is the test database's pool through the application's driver
// adapter (pgxv5.NewConnPool, say), migrated with gue.Migrate.
var pool adapter.ConnPool

// signup stands for the code under test: it enqueues a welcome job.
func signup(ctx context.Context, c *gue.Client, email string) error {
	return c.Enqueue(ctx, &gue.Job{Queue: "mail", Type: "welcome", Args: []byte(`{"email":"` + email + `"}`)})
}

// A test of an application's signup and of its welcome handler, through
// the real engine. examples/testing in the repository is a complete one.
func Example() {
	testSignup := func(t *testing.T) {
		ctx := context.Background()
		client := gue.NewClient(pool)
		if err := signup(ctx, client, "ada@example.com"); err != nil {
			t.Fatal(err)
		}
		// Exactly one such job; on failure the closest jobs are listed.
		guetest.RequireEnqueued(t, pool, guetest.Match{
			Queue: "mail", Type: "welcome",
			ArgsSubset: map[string]any{"email": "ada@example.com"},
		})

		sent := 0
		wm := gue.WorkMap{"welcome": func(j *gue.Job) error { sent++; return nil }}
		if got := guetest.WorkOne(t, client, wm, "mail"); got != gue.OutcomeDone || sent != 1 {
			t.Fatalf("welcome ended %s after %d mails", got, sent)
		}
		guetest.RequireNotEnqueued(t, pool, guetest.Match{Queue: "mail"})
	}
	_ = testSignup
}

// Drain works a queue down with a pool and counts how the runs ended.
func ExampleDrain() {
	testBackfill := func(t *testing.T) {
		client := gue.NewClient(pool, gue.WithClientBackoff(gue.ConstantBackoff(0)))
		wm := gue.WorkMap{"backfill": func(j *gue.Job) error { return nil }}
		counts := guetest.Drain(t, client, wm, "backfill", 4)
		if counts[gue.OutcomeError] != 0 {
			t.Errorf("%d backfill jobs failed", counts[gue.OutcomeError])
		}
	}
	_ = testBackfill
}
