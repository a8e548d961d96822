package gue

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/lockplan"
	"github.com/gue-go/gue/core/internal/sqlq"
	"github.com/gue-go/gue/core/internal/wake"
)

// WorkerPool runs several Workers on one queue (or several, see
// WithPoolQueues), each locking and working one job at a time in its own
// transaction (or a batch at a time, see WithPoolBatchSize).
type WorkerPool struct {
	// workerConfig is the options, shared with the runner.
	*workerConfig
	r  *runner
	id string
	// periodic is the schedules the pool declares (WithPoolPeriodic).
	periodic   []periodic
	noRegistry bool           // WithPoolRegistry(false)
	logger     adapter.Logger // the configured one, with the pool's ID

	running sync.Mutex
}

// NewWorkerPool returns a pool of poolSize Workers (at least one) running the
// jobs of c's database through wm.
func NewWorkerPool(c *Client, wm WorkMap, poolSize int, options ...WorkerPoolOption) *WorkerPool {
	p := &WorkerPool{workerConfig: newWorkerConfig(c, wm), id: newID("pool")}
	for _, o := range options {
		o(p)
	}
	p.init("pool "+p.id, lockplan.EmptyRescanGap)
	if err := checkPeriodic(p.periodic, time.Now()); err != nil && p.err == nil {
		p.err = fmt.Errorf("gue: pool %s: %w", p.id, err)
	}
	if p.session && p.batchSize > 1 && p.err == nil {
		p.err = fmt.Errorf("gue: pool %s: WithPoolSessionLocks cannot be combined with WithPoolBatchSize", p.id)
	}
	p.logger = p.logTo.With(adapter.F("pool-id", p.id), adapter.F("queue", queueNames(p.lanes)))
	if poolSize < 1 {
		poolSize = 1
	}
	ids := make([]string, poolSize)
	for i := range ids {
		ids[i] = p.id + "/" + strconv.Itoa(i)
	}
	p.r = newRunner(p.workerConfig, ids)
	p.r.watched = true // a pool has no WorkOne beside its Run
	return p
}

// ID returns the pool's ID; its workers' IDs are "<pool ID>/<index>".
func (p *WorkerPool) ID() string { return p.id }

// Run runs all workers until ctx is cancelled, waits for them to finish their
// jobs in flight (see WithPoolGracePeriod) and returns nil. It returns an
// error at once if the pool is already running or is misconfigured.
func (p *WorkerPool) Run(ctx context.Context) error {
	if err := p.acquire(); err != nil {
		return err
	}
	defer p.running.Unlock()
	if err := p.checkSession(ctx); err != nil {
		return err
	}
	p.run(ctx)
	return nil
}

// Start runs the pool in a new goroutine, as Run does, and returns at once.
// Cancel ctx to stop it.
func (p *WorkerPool) Start(ctx context.Context) error {
	if err := p.acquire(); err != nil {
		return err
	}
	if err := p.checkSession(ctx); err != nil {
		p.running.Unlock()
		return err
	}
	go func() {
		defer p.running.Unlock()
		p.run(ctx)
	}()
	return nil
}

// HardStop is Worker.HardStop for every worker of the pool: no more jobs are
// locked and the contexts of jobs in flight are cancelled at once.
func (p *WorkerPool) HardStop() { p.r.hardStop() }

func (p *WorkerPool) acquire() error {
	if p.err != nil {
		return p.err
	}
	if !p.running.TryLock() {
		return fmt.Errorf("gue: pool %s: %w", p.id, ErrAlreadyStarted)
	}
	p.r.renewHardStop()
	return nil
}

func (p *WorkerPool) run(ctx context.Context) {
	kick := make(chan struct{}, 1) // the listener's cancellation notices
	stopWatching := p.watch(ctx, kick, p.logger)
	defer stopWatching()
	stopListening := p.listen(ctx, kick)
	defer stopListening()
	stopRegistry := p.register(ctx)
	defer stopRegistry()
	defer p.due.Stop()
	var wg sync.WaitGroup
	if len(p.periodic) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.runPeriodic(ctx)
		}()
	}
	p.r.run(ctx)
	wg.Wait()
}

// listen starts the LISTEN wake-up when the Client's pool can LISTEN, and
// returns the func that stops it once the workers are done.
func (p *WorkerPool) listen(ctx context.Context, kick chan<- struct{}) (stop func()) {
	l, ok := p.c.pool.(adapter.Listener)
	if !p.fits(ok && !p.noListen) || !ok || p.noListen {
		return func() {}
	}
	signal := wake.NewSignal()
	p.r.wake = signal
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		listen(lctx, l, p.stmts.Schema, p.lanes, signal, p.due, kick, p.logger)
	}()
	return func() {
		cancel()
		<-done
		p.r.wake = nil
	}
}

// fits checks, when the Client's pool tells its size (adapter.Sizer), that
// every worker gets a connection, plus one for LISTEN when listening. It
// logs the numbers when they do not fit, and reports whether to listen: a
// listener that would leave a worker without a connection is dropped (the
// workers poll), since with MaxConns 1 it would hold the only connection
// and no job would ever run.
func (p *WorkerPool) fits(listening bool) (listen bool) {
	s, ok := p.c.pool.(adapter.Sizer)
	if !ok || s.MaxConns() <= 0 {
		return listening
	}
	size, workers := s.MaxConns(), len(p.r.slots)
	need := workers
	if p.session {
		need = 2 // the lock connection, and one for the jobs' endings
	}
	if listening {
		need++
	}
	if size >= need {
		return listening
	}
	p.logger.Error("connection pool too small for this worker pool: each busy worker holds a connection, "+
		"LISTEN holds one more, and a handler that calls Enqueue (or uses the pool outside j.Tx) borrows another; "+
		"size the pool to at least 2×workers+1",
		adapter.F("max-conns", size), adapter.F("workers", workers), adapter.F("listen", false))
	return false // a listener here would take a worker's connection
}

// checkSession checks, in session mode, that the Client's pool can hold a
// lock connection and that the schema is not on Citus, where advisory
// locks are per node.
func (p *WorkerPool) checkSession(ctx context.Context) error {
	if !p.session {
		return nil
	}
	if _, ok := p.c.pool.(adapter.Sessioner); !ok {
		return fmt.Errorf("gue: pool %s: %w", p.id, errNoSessioner)
	}
	if p.stmts.on(ctx, p.c.pool).Dialect == sqlq.Citus {
		return fmt.Errorf("gue: pool %s: session mode does not work on Citus yet: advisory locks are per node; use the default mode or batch mode there", p.id)
	}
	return nil
}
