package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	guev5 "github.com/vgarvardt/gue/v5"
	guev5pgx "github.com/vgarvardt/gue/v5/adapter/pgxv5"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/driver-pgxv5"
)

// system is one queue under test, on a database of its own.
type system interface {
	Name() string
	// Setup creates the system's schema through pool.
	Setup(ctx context.Context, pool *pgxpool.Pool) error
	// Enqueue inserts n no-op jobs in the system's fastest bulk way, or
	// with its single-job insert when n is 1.
	Enqueue(ctx context.Context, n int) error
	// Start runs the workers; every worked job calls done. stop waits for
	// them to stop.
	Start(ctx context.Context, done func()) (stop func(), err error)
}

// timedSystem is a system whose workers tell when each job they work was
// enqueued (its run_at or created_at), for pickup latencies.
type timedSystem interface {
	// StartTimed is Start, with each job's enqueue time passed to done.
	StartTimed(ctx context.Context, done func(enqueued time.Time)) (stop func(), err error)
}

// chunk is the number of jobs per bulk insert call (-enqueue-batch).
var chunk = 5000

// --- gue-go ---

type gueGo struct {
	name    string
	workers int
	batch   int  // > 1: batch mode
	session bool // session mode (WithPoolSessionLocks)
	poll    time.Duration
	sleep   time.Duration         // each job's handler waits this long (I/O-bound jobs)
	hold    func(context.Context) // each job's handler runs this first (-vacuum)
	c       *gue.Client
}

func (g *gueGo) Name() string { return g.name }

func (g *gueGo) Setup(ctx context.Context, pool *pgxpool.Pool) error {
	p := pgxv5.NewConnPool(pool)
	if err := gue.Migrate(ctx, p, ""); err != nil {
		return err
	}
	if citusWorkers != "" {
		if err := gue.DistributeCitus(ctx, p, ""); err != nil {
			return err
		}
	}
	g.c = gue.NewClient(p) // after distributing: a Client looks once
	return nil
}

func (g *gueGo) Enqueue(ctx context.Context, n int) error {
	if n == 1 {
		return g.c.Enqueue(ctx, &gue.Job{Type: "noop"})
	}
	for n > 0 {
		k := min(n, chunk)
		jobs := make([]*gue.Job, k)
		for i := range jobs {
			jobs[i] = &gue.Job{Type: "noop"}
		}
		if err := g.c.EnqueueBatch(ctx, jobs); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (g *gueGo) Start(ctx context.Context, done func()) (func(), error) {
	return g.StartTimed(ctx, func(time.Time) { done() })
}

// StartTimed passes each job's RunAt, which the bench's jobs leave to the
// database: the time of their insert.
func (g *gueGo) StartTimed(ctx context.Context, done func(time.Time)) (func(), error) {
	// Batch mode as documented (WithPoolBatchSize): the pool sized like
	// the others, one batch per worker at a time.
	size, opts := g.workers, []gue.WorkerPoolOption{gue.WithPoolPollInterval(g.poll)}
	if g.batch > 1 {
		opts = append(opts, gue.WithPoolBatchSize(g.batch))
	}
	if g.session {
		opts = append(opts, gue.WithPoolSessionLocks(true))
	}
	work := func(j *gue.Job) error { done(j.RunAt); return nil }
	if g.sleep > 0 {
		work = func(j *gue.Job) error { time.Sleep(g.sleep); done(j.RunAt); return nil }
	}
	if g.hold != nil {
		work = func(j *gue.Job) error { g.hold(j.Context()); done(j.RunAt); return nil }
	}
	p := gue.NewWorkerPool(g.c, gue.WorkMap{"noop": work}, size, opts...)
	ctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = p.Run(ctx) }()
	return func() { cancel(); <-stopped }, nil
}

// --- River ---

type noopArgs struct{}

func (noopArgs) Kind() string { return "noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	done  func(enqueued time.Time)
	sleep time.Duration         // I/O-bound jobs: each waits this long
	hold  func(context.Context) // -vacuum: each runs this first
}

func (w *noopWorker) Work(ctx context.Context, j *river.Job[noopArgs]) error {
	if w.hold != nil {
		w.hold(ctx)
	}
	if w.sleep > 0 {
		time.Sleep(w.sleep)
	}
	w.done(j.CreatedAt)
	return nil
}

// riverSystem is River with MaxWorkers = workers and the given fetch
// timings: at the bench's worker count ("same slots"), or at the settings
// of River's own `river bench` (own: MaxWorkers 2000, FetchCooldown 2 ms,
// FetchPollInterval 20 ms), its best case and the headline baseline.
type riverSystem struct {
	workers   int
	own       bool
	cooldown  time.Duration
	pollEvery time.Duration
	sleep     time.Duration         // I/O-bound jobs
	hold      func(context.Context) // -vacuum
	pool      *pgxpool.Pool
	inserter  *river.Client[pgx.Tx]
}

func (r *riverSystem) Name() string {
	if r.own {
		return riverOwnName
	}
	return riverSameName
}

// The names of the two River configurations in the report.
const (
	riverOwnName  = "River v0.51 (its bench settings)"
	riverSameName = "River v0.51 (same worker slots)"
)

func (r *riverSystem) Setup(ctx context.Context, pool *pgxpool.Pool) error {
	r.pool = pool
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	if _, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return err
	}
	r.inserter, err = river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: quietSlog()})
	return err
}

func (r *riverSystem) Enqueue(ctx context.Context, n int) error {
	if n == 1 {
		_, err := r.inserter.Insert(ctx, noopArgs{}, nil)
		return err
	}
	for n > 0 {
		k := min(n, chunk)
		params := make([]river.InsertManyParams, k)
		for i := range params {
			params[i] = river.InsertManyParams{Args: noopArgs{}}
		}
		if _, err := r.inserter.InsertManyFast(ctx, params); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (r *riverSystem) Start(ctx context.Context, done func()) (func(), error) {
	return r.StartTimed(ctx, func(time.Time) { done() })
}

// StartTimed passes each job's CreatedAt.
func (r *riverSystem) StartTimed(ctx context.Context, done func(time.Time)) (func(), error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{done: done, sleep: r.sleep, hold: r.hold})
	c, err := river.NewClient(riverpgxv5.New(r.pool), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: r.workers}},
		Workers:           workers,
		FetchCooldown:     r.cooldown,
		FetchPollInterval: r.pollEvery,
		Logger:            quietSlog(),
	})
	if err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return func() { _ = c.Stop(context.Background()) }, nil
}

// --- gue v5 ---

type gueV5 struct {
	workers int
	c       *guev5.Client
}

func (g *gueV5) Name() string { return "gue v5.8 (RunAt)" }

// Setup applies the schema file shipped in the gue v5 module, read from the
// module cache (go list), so no copy of it lives here.
func (g *gueV5) Setup(ctx context.Context, pool *pgxpool.Pool) error {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/vgarvardt/gue/v5").Output()
	if err != nil {
		return fmt.Errorf("locate gue v5 module: %w", err)
	}
	schema, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "migrations", "schema.sql"))
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, string(schema)); err != nil {
		return err
	}
	g.c, err = guev5.NewClient(guev5pgx.NewConnPool(pool))
	return err
}

func (g *gueV5) Enqueue(ctx context.Context, n int) error {
	if n == 1 {
		return g.c.Enqueue(ctx, &guev5.Job{Type: "noop"})
	}
	for n > 0 {
		k := min(n, chunk)
		jobs := make([]*guev5.Job, k)
		for i := range jobs {
			jobs[i] = &guev5.Job{Type: "noop"}
		}
		if err := g.c.EnqueueBatch(ctx, jobs); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (g *gueV5) Start(ctx context.Context, done func()) (func(), error) {
	p, err := guev5.NewWorkerPool(g.c, guev5.WorkMap{"noop": func(context.Context, *guev5.Job) error { done(); return nil }},
		g.workers, guev5.WithPoolPollInterval(10*time.Millisecond), guev5.WithPoolPollStrategy(guev5.RunAtPollStrategy))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = p.Run(ctx) }()
	return func() { cancel(); <-stopped }, nil
}
