// Command gue-testworker is the worker process the reliability tests start,
// signal and kill. It works queue -queue of the database at DATABASE_URL with
// -workers workers. Each job records an attempt in table attempts (committed
// on its own, so it survives a crash), optionally sleeps -sleep (cut short by
// the job's context; jobs of type "hold" sleep -hold), then records its
// result in table results inside the job's transaction. With -batch, jobs are locked and ended in batches of
// that many, sharing a transaction; with -session, each job is held by a
// session lock of the pool's lock connection. With -periodic, the pool also declares the schedule
// "tick" (gue.Every of that duration), whose jobs record their tick in table
// ticks. With -tcp-timeout its connections give up a silent peer (a
// network partition) within that long. With -acked it prints "acked <job ID>" for each job whose run
// returned with its ending applied. It prints "lock lost <job ID>" for each
// job whose run the loss of the session-mode lock connection cancelled. The first SIGTERM or SIGINT shuts down gracefully; a
// second one stops hard.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/driver-libpq"
	"github.com/gue-go/gue/driver-pgxv5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/lib/pq"
)

func main() {
	workers := flag.Int("workers", 4, "workers in the pool")
	queue := flag.String("queue", "", "queue to work")
	poll := flag.Duration("poll", 50*time.Millisecond, "poll interval")
	sleep := flag.Duration("sleep", 0, "time each job takes")
	holdFor := flag.Duration("hold", 20*time.Second, "time each job of type \"hold\" takes")
	grace := flag.Duration("grace", 30*time.Second, "shutdown grace period")
	every := flag.Duration("periodic", 0, "declare the periodic job \"tick\" every this long")
	batch := flag.Int("batch", 0, "jobs per transaction (WithPoolBatchSize); 0: the default mode, a transaction per job")
	session := flag.Bool("session", false, "session mode (WithPoolSessionLocks): jobs held by the session locks of one connection")
	syncCompletion := flag.Bool("sync-completion", false, "WithClientAsyncCompletion(false): a job's completion waits for its WAL flush (and for synchronous standbys)")
	driver := flag.String("driver", "pgxv5", "the database driver: pgxv5 (pgxpool) or libpq (database/sql with github.com/lib/pq)")
	tcpTimeout := flag.Duration("tcp-timeout", 0, "give up a connection whose peer stops answering after this long: TCP_USER_TIMEOUT, and keepalives (idle and interval a third of it, 2 probes) through pgx's DialFunc; 0: Go's defaults (keepalives after 15 s idle, every 15 s, 9 probes; no user timeout)")
	acked := flag.Bool("acked", false, "print \"acked <job ID>\" once a job's run has returned with its ending applied (in the default mode: its transaction committed)")
	flag.Parse()
	logger := log.New(os.Stderr, fmt.Sprintf("[worker %d] ", os.Getpid()), log.Lmicroseconds)

	// A connection per job in flight (or per batch, in batch mode); a
	// pool in session mode runs its jobs on none, and needs its lock
	// connection and a few for the endings and the attempts recorded.
	conns := *workers + 4
	if *session {
		conns = min(conns, sessionConns)
	}
	var pool adapter.ConnPool
	switch *driver {
	case "pgxv5":
		cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
		if err != nil {
			logger.Fatalf("parse DATABASE_URL: %v", err)
		}
		cfg.MaxConns = int32(conns)
		cfg.ConnConfig.RuntimeParams["application_name"] = "gue-testworker"
		if *tcpTimeout > 0 {
			cfg.ConnConfig.DialFunc = deadPeerDialer(*tcpTimeout).DialContext
		}
		pgxPool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			logger.Fatalf("connect: %v", err)
		}
		defer pgxPool.Close()
		pool = pgxv5.NewConnPool(pgxPool)
	case "libpq":
		if *tcpTimeout > 0 {
			logger.Fatal("-tcp-timeout is for -driver pgxv5")
		}
		db, err := sql.Open("postgres", os.Getenv("DATABASE_URL"))
		if err != nil {
			logger.Fatalf("open DATABASE_URL: %v", err)
		}
		db.SetMaxOpenConns(conns)
		// Kept, not closed after each use: database/sql keeps 2 idle
		// connections unless told (driver-libpq's doc), and a new
		// backend for most jobs made TestFailover's lib/pq scenario take
		// 42 s against pgx's 16.
		db.SetMaxIdleConns(conns)
		defer db.Close()
		pool = libpq.NewConnPool(db)
	default:
		logger.Fatalf("-driver %q: want pgxv5 or libpq", *driver)
	}

	var stdout sync.Mutex // one line at a time on stdout
	run := func(j *gue.Job, sleep time.Duration) error {
		ctx := j.Context()
		if _, err := pool.Exec(ctx, `INSERT INTO attempts (job_id, pid) VALUES ($1, $2)`, j.ID, os.Getpid()); err != nil {
			return err
		}
		if sleep > 0 {
			select {
			case <-time.After(sleep):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		_, err := j.Tx().Exec(ctx, `INSERT INTO results (job_id) VALUES ($1)`, j.ID)
		return err
	}
	work := func(j *gue.Job, sleep time.Duration) error {
		err := run(j, sleep)
		if err != nil && errors.Is(context.Cause(j.Context()), gue.ErrLockLost) {
			// A job the loss of the session-mode lock connection
			// cancelled: the pool does not end it, and logs it at debug
			// level only. TestNetworkPartition reads these lines.
			stdout.Lock()
			fmt.Printf("lock lost %d\n", j.ID)
			stdout.Unlock()
		}
		return err
	}
	tick := func(j *gue.Job) error {
		_, err := j.Tx().Exec(j.Context(), `INSERT INTO ticks (tick, job_id, pid) VALUES ($1, $2, $3)`,
			j.Metadata[gue.MetaPeriodicTick], j.ID, os.Getpid())
		return err
	}
	opts := []gue.WorkerPoolOption{gue.WithPoolQueue(*queue), gue.WithPoolPollInterval(*poll), gue.WithPoolGracePeriod(*grace),
		gue.WithPoolLogger(quietLogger{adapter.NewStdLogger(logger)})}
	if *batch > 0 {
		opts = append(opts, gue.WithPoolBatchSize(*batch))
	}
	if *session {
		opts = append(opts, gue.WithPoolSessionLocks(true))
	}
	if *acked {
		opts = append(opts, gue.WithPoolHooks(gue.Hooks{Work: func(next gue.RunFunc) gue.RunFunc {
			return func(ctx context.Context, j *gue.Job) error {
				err := next(ctx, j)
				if err == nil {
					stdout.Lock()
					fmt.Printf("acked %d\n", j.ID)
					stdout.Unlock()
				}
				return err
			}
		}}))
	}
	if *every > 0 {
		opts = append(opts, gue.WithPoolPeriodic("tick", gue.Every(*every), func() *gue.Job { return &gue.Job{Type: "tick"} }))
	}
	p := gue.NewWorkerPool(gue.NewClient(pool, gue.WithClientAsyncCompletion(!*syncCompletion)), gue.WorkMap{
		"work": func(j *gue.Job) error { return work(j, *sleep) },
		"hold": func(j *gue.Job) error { return work(j, *holdFor) },
		"tick": tick,
	}, *workers, opts...)

	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		logger.Print("shutting down gracefully")
		cancel()
		<-signals
		logger.Print("stopping hard")
		p.HardStop()
	}()
	logger.Print("started")
	if err := p.Run(ctx); err != nil {
		logger.Fatalf("run: %v", err)
	}
	logger.Print("stopped")
}

// quietLogger drops debug messages, one per job, which would flood the test
// output.
type quietLogger struct{ adapter.Logger }

func (quietLogger) Debug(string, ...adapter.Field) {}

func (q quietLogger) With(fields ...adapter.Field) adapter.Logger {
	return quietLogger{q.Logger.With(fields...)}
}

// tcpUserTimeout is Linux's TCP_USER_TIMEOUT socket option (not in package
// syscall): how long sent data may stay unacknowledged before the kernel
// drops the connection.
const tcpUserTimeout = 0x12

// sessionConns is the most connections a worker in session mode opens: the
// bench's budget for every system (bench -io).
const sessionConns = 20

// deadPeerDialer dials connections that notice a peer gone silent (a
// network partition) within about d: TCP_USER_TIMEOUT for a connection
// waiting for a reply, keepalives for an idle one.
func deadPeerDialer(d time.Duration) *net.Dialer {
	return &net.Dialer{
		Timeout:         d,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: d / 3, Interval: d / 3, Count: 2},
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout, int(d.Milliseconds()))
			}); err != nil {
				return err
			}
			return serr
		},
	}
}
