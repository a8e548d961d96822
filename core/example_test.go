package gue_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os/signal"
	"syscall"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// pool is the application's database pool through a driver module's
// adapter, for example pgxv5.NewConnPool(pgxPool) of
// github.com/gue-go/gue/driver-pgxv5. The examples that need a database
// are compiled, not run: the driver modules' own examples run against one.
var pool adapter.ConnPool

type welcomeArgs struct {
	UserID int64  `json:"user_id"`
	Email  string `json:"email"`
}

// A complete program: migrate, enqueue, and work jobs until SIGTERM.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := gue.Migrate(ctx, pool, ""); err != nil { // once, at deploy or start-up
		log.Fatal(err)
	}
	client := gue.NewClient(pool)

	job, err := gue.NewJob("welcome", welcomeArgs{UserID: 7, Email: "ada@example.com"})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Enqueue(ctx, job); err != nil {
		log.Fatal(err)
	}

	workers := gue.NewWorkerPool(client, gue.WorkMap{
		"welcome": gue.WorkFor(func(j *gue.Job, a welcomeArgs) error {
			log.Printf("welcome mail to %s", a.Email)
			return nil // the job is deleted; an error would retry it after a backoff
		}),
	}, 10)
	if err := workers.Run(ctx); err != nil { // until ctx ends, then a graceful shutdown
		log.Fatal(err)
	}
}

// Migrate creates the schema's tables, or brings them to this version; it is
// safe to run from every process at start-up.
func ExampleMigrate() {
	ctx := context.Background()
	if err := gue.Migrate(ctx, pool, "jobs"); err != nil {
		log.Fatal(err)
	}
	client := gue.NewClient(pool, gue.WithClientSchema("jobs"))
	_ = client
}

func ExampleClient_Enqueue() {
	ctx := context.Background()
	client := gue.NewClient(pool)
	j := &gue.Job{
		Queue:    "mail",
		Type:     "welcome",
		Args:     []byte(`{"user_id":7}`),
		Priority: -1,                              // lower runs first
		RunAt:    time.Now().Add(5 * time.Minute), // zero: now
	}
	if err := client.Enqueue(ctx, j); err != nil {
		log.Fatal(err)
	}
	fmt.Println("enqueued job", j.ID)
}

// EnqueueTx makes the job part of the application's own transaction: it
// exists if and when that commits.
func ExampleClient_EnqueueTx() {
	ctx := context.Background()
	client := gue.NewClient(pool)
	tx, err := pool.Begin(ctx) // or the driver's own transaction, wrapped (pgxv5.NewTx)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	var userID int64
	if err := tx.QueryRow(ctx, `INSERT INTO users (email) VALUES ($1) RETURNING id`, "ada@example.com").Scan(&userID); err != nil {
		log.Fatal(err)
	}
	job, _ := gue.NewJob("welcome", welcomeArgs{UserID: userID, Email: "ada@example.com"})
	if err := client.EnqueueTx(ctx, job, tx); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil { // the user and its job, or neither
		log.Fatal(err)
	}
}

// A unique key keeps one live job per key in a queue: a second enqueue
// writes nothing and names the live job.
func ExampleClient_Enqueue_uniqueKey() {
	ctx := context.Background()
	client := gue.NewClient(pool)
	for i := 0; i < 2; i++ {
		j := &gue.Job{Type: "sync-account", Args: []byte(`{"account":42}`), UniqueKey: "sync-account-42"}
		switch err := client.Enqueue(ctx, j); {
		case errors.Is(err, gue.ErrDuplicateJob):
			fmt.Println("already queued as job", j.ID)
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println("enqueued job", j.ID)
		}
	}
}

// A pool of 20 workers on two queues, with a job timeout and a periodic
// job that every process may declare: each tick enqueues one job.
func ExampleNewWorkerPool() {
	ctx := context.Background()
	client := gue.NewClient(pool)
	wm := gue.WorkMap{
		"welcome": func(j *gue.Job) error { return nil },
		"report":  func(j *gue.Job) error { return nil },
	}
	workers := gue.NewWorkerPool(client, wm, 20,
		gue.WithPoolQueues("mail", "reports"),
		gue.WithPoolJobTimeout(time.Minute),
		gue.WithPoolPeriodic("nightly-report", gue.Every(24*time.Hour), func() *gue.Job {
			return &gue.Job{Queue: "reports", Type: "report"}
		}),
	)
	if err := workers.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// Session mode for jobs that wait on the network: 500 jobs in flight on a
// pool of a few connections. Each running job is held by a session-level
// advisory lock of one lock connection, with no transaction open; the
// server releases them all if the process dies. A job that writes calls
// j.Tx() after its waiting: its writes and its deletion commit together.
func ExampleWithPoolSessionLocks() {
	ctx := context.Background()
	client := gue.NewClient(pool)
	wm := gue.WorkMap{"webhook": func(j *gue.Job) error {
		// ... call the remote service with j.Context(), which is cancelled
		// with cause gue.ErrLockLost if the lock connection is lost ...
		_, err := j.Tx().Exec(j.Context(), `UPDATE deliveries SET sent_at = now() WHERE job_id = $1`, j.ID)
		return err
	}}
	workers := gue.NewWorkerPool(client, wm, 500,
		gue.WithPoolQueue("webhooks"),
		gue.WithPoolSessionLocks(true), // needs a direct route to PostgreSQL, not a pooler in transaction mode
	)
	if err := workers.Run(ctx); err != nil {
		log.Fatal(err) // Run refuses session mode without adapter.Sessioner, on Citus, or with batches
	}
}

// WorkFor decodes a job's args into a type; args that do not decode fail
// the run like any error, never a panic.
func ExampleWorkFor() {
	wf := gue.WorkFor(func(j *gue.Job, a welcomeArgs) error {
		fmt.Printf("mail %s (user %d)\n", a.Email, a.UserID)
		return nil
	})
	job, _ := gue.NewJob("welcome", welcomeArgs{UserID: 7, Email: "ada@example.com"})
	fmt.Println(wf(job))
	fmt.Println(errors.Is(wf(&gue.Job{Type: "welcome", Args: []byte(`[1]`)}), gue.ErrInvalidArgs))
	// Output:
	// mail ada@example.com (user 7)
	// <nil>
	// true
}

func ExampleNewJob() {
	job, err := gue.NewJob("welcome", welcomeArgs{UserID: 7, Email: "ada@example.com"})
	fmt.Println(string(job.Args), err)
	_, err = gue.NewJob("bad", make(chan int))
	fmt.Println(errors.Is(err, gue.ErrInvalidArgs))
	// Output:
	// {"user_id":7,"email":"ada@example.com"} <nil>
	// true
}

// What a WorkFunc returns decides how the run ends; OutcomeOf names it, as
// the Work hooks and metrics see it.
func ExampleOutcomeOf() {
	for _, err := range []error{
		nil,
		errors.New("smtp: connection refused"),
		gue.Snooze(time.Minute),
		fmt.Errorf("no such user: %w", gue.ErrDiscard),
	} {
		fmt.Println(gue.OutcomeOf(err))
	}
	// Output:
	// done
	// error
	// snoozed
	// discarded
}

// Snooze runs the job again later without counting a failure, keeping
// what the handler wrote through j.Tx().
func ExampleSnooze() {
	notYet := func(j *gue.Job) error {
		if time.Now().Hour() < 6 {
			return gue.Snooze(time.Hour)
		}
		return nil
	}
	_ = notYet
	fmt.Println(gue.Snooze(-time.Second))
	// Output:
	// gue: snooze -1s: snooze duration must not be negative
}

func ExampleEvery() {
	s := gue.Every(15 * time.Minute)
	fmt.Println(s.Next(time.Date(2026, 12, 6, 12, 7, 0, 0, time.UTC)).Format(time.TimeOnly))
	// Output:
	// 12:15:00
}

// The wait after each failure: initial·factor^retries, capped.
func ExampleExponentialBackoff() {
	b := gue.ExponentialBackoff(time.Second, 2, time.Minute, 0) // no jitter
	for retries := 1; retries <= 8; retries++ {
		fmt.Print(b(retries), " ")
	}
	fmt.Println()
	// Output:
	// 2s 4s 8s 16s 32s 1m0s 1m0s 1m0s
}

// The lifecycle of jobs from the operator's side: cancel, pause, retry.
func ExampleClient_Cancel() {
	ctx := context.Background()
	client := gue.NewClient(pool)
	switch err := client.Cancel(ctx, "mail", 1234); {
	case err == nil:
		fmt.Println("cancelled before it ran: moved to the dead jobs")
	case errors.Is(err, gue.ErrJobRunning):
		fmt.Println("running: its context is cancelled within a second")
	case errors.Is(err, gue.ErrJobNotFound):
		fmt.Println("no such job")
	default:
		log.Fatal(err)
	}
	if err := client.PauseQueue(ctx, "mail"); err != nil { // every pool on it stops locking
		log.Fatal(err)
	}
	if err := client.ResumeQueue(ctx, "mail"); err != nil {
		log.Fatal(err)
	}
	if err := client.RetryDead(ctx, "mail", 1234); err != nil { // back to the queue, ready now
		log.Fatal(err)
	}
}

// The admin API pages through jobs by queue, type and state.
func ExampleClient_ListJobs() {
	ctx := context.Background()
	client := gue.NewClient(pool)
	f := gue.JobFilter{Queue: "mail", QueueSet: true, State: gue.StateDead, Limit: 100}
	for {
		page, err := client.ListJobs(ctx, f)
		if err != nil {
			log.Fatal(err)
		}
		for _, j := range page.Jobs {
			fmt.Println(j.ID, j.Type, j.Reason, j.LastError)
		}
		if page.Next == nil {
			break
		}
		f.After = page.Next
	}
}
