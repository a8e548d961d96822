package gue

import (
	"fmt"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/wake"
)

// workerConfig is what the options of a Worker, or of a WorkerPool for all
// its workers, set.
type workerConfig struct {
	c         *Client
	wm        WorkMap
	queues    []string // WithPoolQueue(s), WithWorkerQueue; default [""]
	schema    string   // "": the Client's; else c is replaced by a Client of this schema
	interval  time.Duration
	grace     time.Duration
	timeout   time.Duration
	batchSize int
	session   bool           // WorkerPool only: WithPoolSessionLocks
	logTo     adapter.Logger // nil: the Client's
	noListen  bool           // WorkerPool only
	hooks     []Hooks        // WithWorkerHooks, WithPoolHooks: inside the Client's

	// resolved by init
	stmts *queries
	// lanes are the queues worked, with their pause state and lock hints
	// shared by all the workers.
	lanes []*lane
	// running is the jobs in flight, for Client.Cancel.
	inflight *inFlight
	// due wakes an idle worker when a job it knows of becomes due.
	due *wake.DueTimer
	// goroutines run the jobs of batches.
	goroutines *goroutines
	// probe finds the quiet lanes with a ready job (nil: one lane).
	probe *laneProbe
	// ahead paces the workers' look-aheads for due jobs.
	ahead *aheadPace
	err   error // a bad option or a nil Client, reported by Start and Run
}

func newWorkerConfig(c *Client, wm WorkMap) *workerConfig {
	return &workerConfig{c: c, wm: wm, interval: DefaultPollInterval, grace: DefaultGracePeriod}
}

// init resolves the options that depend on the client; who names the
// Worker or WorkerPool in its errors; emptyGap is the lock hints' (see
// lockplan.NewHints).
func (cfg *workerConfig) init(who string, emptyGap time.Duration) {
	if cfg.logTo == nil { // not set, or set to nil: the Client's logger
		cfg.logTo = adapter.DefaultLogger()
		if cfg.c != nil {
			cfg.logTo = cfg.c.logger
		}
	}
	if cfg.interval <= 0 {
		cfg.interval = DefaultPollInterval
	}
	if cfg.c == nil {
		cfg.err = fmt.Errorf("gue: %s: %w", who, ErrNilClient)
		return
	}
	if cfg.queues == nil {
		cfg.queues = []string{""}
	}
	if err := checkQueues(cfg.queues); err != nil {
		cfg.err = fmt.Errorf("gue: %s: %w", who, err)
		return
	}
	cfg.lanes = newLanes(cfg.queues, emptyGap)
	cfg.inflight = &inFlight{}
	cfg.due = wake.NewDueTimer()
	cfg.ahead = &aheadPace{}
	cfg.goroutines = newGoroutines()
	if cfg.schema != "" {
		c, err := cfg.c.inSchema(cfg.schema)
		if err != nil {
			cfg.err = fmt.Errorf("gue: %s: %w", who, err)
			return
		}
		cfg.c = c
	}
	if len(cfg.hooks) > 0 {
		cfg.c = cfg.c.withHooks(cfg.hooks)
	}
	cfg.stmts = cfg.c.stmts
	cfg.probe = newLaneProbe(quoteIdent(cfg.stmts.Schema)+".gue_jobs", cfg.lanes, cfg.interval)
}
