package gue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/lockplan"
)

// sessionLocks is the lock connection of a pool in session mode
// (WithPoolSessionLocks): one server session whose advisory locks hold all
// the jobs the pool runs. Its statements take turns (mu); the locker locks
// through it, and the releaser goroutine gives back the locks of ended jobs
// in one statement per turn and checks that the connection lives while
// jobs run. Losing it cancels every job it held (ErrLockLost).
type sessionLocks struct {
	sessioner adapter.Sessioner
	pool      adapter.ConnPool // the pool's other connections (checkOwnSession)
	stmts     *queries
	inflight  *inFlight
	logger    adapter.Logger
	slots     int // the pool's size
	// async lets a job that wrote nothing through Tx commit its deletion
	// without waiting for the WAL flush (WithClientAsyncCompletion).
	async bool

	mu   sync.Mutex // one statement at a time on conn
	conn adapter.SessionConn
	// oneTrip is conn where its lock and load statements can share a
	// round trip and a transaction (see batcher), nil where not.
	oneTrip adapter.QueryBatcher
	pid     int32
	// holder names conn's server session for the endings, which prove a
	// job's lock by it (sqlq's SessionHolder).
	holder string
	// room is how many locks the pool may hold at once: a share of the
	// server's lock table (see lockTableShare), read when it connects.
	room atomic.Int64
	used time.Time // the last statement on conn
	// gen counts the connections: a job held by an older one has lost
	// its lock.
	gen atomic.Uint64

	heldMu sync.Mutex
	// held is the jobs running under a lock of connection gen, with their
	// place in the queue as locked. pg_try_advisory_lock grants a session
	// the locks it holds already, so the lock statement skips those its
	// walk can come to (heldArray), and any it took again all the same is
	// not run twice (lockIDs).
	held map[int64]heldJob
	// releases is the jobs ended whose locks are to be given back.
	releases []int64
	kick     chan struct{}
	// completer deletes the jobs done without a transaction of their own.
	completer *sessionCompleter
}

// heldJob is a held job's place in its queue's order, as it was locked.
type heldJob struct {
	prio int16
	pos  lockplan.Pos
}

// lockTableShare: a pool in session mode holds at most 1/lockTableShare
// of the server's lock table (max_locks_per_transaction × (max_connections
// + max_prepared_transactions) entries, shared by every session). Past the
// table's size, every session's next lock fails with "out of shared
// memory", so the pool waits for room instead: other sessions' work never
// pays for it. With the server's defaults (64 × 100) a pool holds 3,200.
const lockTableShare = 2

// errNotOneSession is the error of a lock statement that ran on another
// backend than the lock connection's own.
var errNotOneSession = errors.New("gue: session mode: the lock connection's statements run on different server sessions " +
	"(a pooler in transaction mode?): session locks need a direct connection, or a pooler in session mode; see docs/session-mode.md")

// errSharedSession is the error of a lock connection whose server session
// another connection of the pool was given too.
var errSharedSession = errors.New("gue: session mode: the lock connection's server session was given to another connection " +
	"of the pool too: a pooler in transaction mode (or statement mode) is in the path, and it cannot keep session locks; " +
	"give the pool a direct connection, or a pooler in session mode; see docs/session-mode.md")

// ownSessionWait bounds checkOwnSession's wait for a connection of the pool.
const ownSessionWait = 2 * time.Second

// checkOwnSession refuses a lock connection c behind a pooler that shares
// server sessions between its clients (PgBouncer in transaction or
// statement mode): such a pooler hands the server session a client has
// just given back to the next client that asks (PgBouncer takes the one
// given back last), so another connection of the pool that lands on the
// lock connection's backend (pid) can only have come through it. Directly
// or through a pooler in session mode the lock connection's backend serves
// no one else, and the check cannot refuse. It asks ownSessionProbes
// times, c first each time: a statement of another client of the pooler
// may take that server session between the two. A probe that finds no
// free connection of the pool soon ends the check without an error: the
// lock statements' own check of the backend (errNotOneSession) stays.
func (sl *sessionLocks) checkOwnSession(ctx context.Context, c adapter.SessionConn, pid int32) error {
	ctx, cancel := context.WithTimeout(ctx, ownSessionWait)
	defer cancel()
	for range ownSessionProbes {
		var own, other int32
		if err := c.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&own); err != nil {
			return fmt.Errorf("gue: session mode: open the lock connection: %w", err)
		}
		if own != pid {
			return errNotOneSession
		}
		if err := sl.pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&other); err != nil {
			return nil
		}
		if other == pid {
			return errSharedSession
		}
	}
	return nil
}

// ownSessionProbes is how many times checkOwnSession asks.
const ownSessionProbes = 3

// sessionLockMax is the most jobs one lock statement locks. The lock
// connection's turns run one at a time for the whole pool, and each costs
// more than its rows (a round trip, a plan, the end of its transaction,
// which walks every lock the session holds): with 2,000 workers and 50 ms
// jobs a turn reached 256 jobs, and 512 worked 1.04 times the jobs/s
// (bench -io 50ms, 6 alternated pairs, 2 cores).
const sessionLockMax = 512

// sessionAhead is how many jobs a pool of n workers in session mode locks
// ahead of its free slots: none below sessionAheadFrom workers, where a
// pool holds exactly the locks of the jobs it runs; n/4, at most a lock
// statement's worth, from there. A slot that ends its job then runs the
// next at once, where it waited for the lock connection's next turn, which
// runs one at a time for the whole pool: with 2,000 workers and 50 ms
// jobs (bench -io 50ms, 2 cores) a slot spent about 9 ms idle and 5 ms in
// the turn per job. A job locked ahead waits a few ms for a slot; it is
// held by the lock connection like a running job, and given back when the
// pool stops.
func sessionAhead(n int) int {
	if n < sessionAheadFrom {
		return 0
	}
	return min(sessionLockMax, n/4)
}

// sessionAheadFrom is the smallest pool in session mode that locks jobs
// ahead (sessionAhead).
const sessionAheadFrom = 512

// sessionHeartbeat is how long the lock connection may stay unused while
// it holds locks before a statement checks that it lives: a loss is
// noticed (and its jobs cancelled) within about this long.
const sessionHeartbeat = 250 * time.Millisecond

func newSessionLocks(pool adapter.ConnPool, s adapter.Sessioner, stmts *queries, inflight *inFlight, logger adapter.Logger, slots int, async bool) *sessionLocks {
	return &sessionLocks{sessioner: s, pool: pool, stmts: stmts, inflight: inflight, logger: logger, slots: slots, async: async,
		held: map[int64]heldJob{}, kick: make(chan struct{}, 1), completer: newSessionCompleter(pool)}
}

// start runs the releaser until the returned stop, which gives back the
// last locks and closes the connection: call it once no job runs.
func (sl *sessionLocks) start(ctx context.Context) (stop func()) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sl.releaser(rctx)
	}()
	go func() {
		defer wg.Done()
		sl.completer.run(rctx, func() string {
			ends := sl.stmts.endings(rctx, sl.completer.pool)
			if sl.async && ends.SessionDeleteManyAsync != "" {
				return ends.SessionDeleteManyAsync
			}
			return ends.SessionDeleteMany
		})
	}()
	return func() {
		cancel()
		wg.Wait()
		// Given back by a statement, which has returned once they are: the
		// server releases a closed session's locks only once its backend
		// has gone, a moment after the close.
		sl.flush(context.Background())
		sl.mu.Lock()
		defer sl.mu.Unlock()
		if sl.conn != nil {
			_ = sl.conn.Close(context.Background()) // the server releases every lock left
			sl.conn, sl.oneTrip = nil, nil
		}
	}
}

// releaser gives back the locks of ended jobs and checks the connection
// while it holds locks, until ctx ends. A statement it has sent is not
// cut off by that end, as the lock statement is not (see lock): the stop
// would take the cut for a lost connection.
func (sl *sessionLocks) releaser(ctx context.Context) {
	sctx := context.WithoutCancel(ctx)
	t := time.NewTicker(sessionHeartbeat / 2)
	defer t.Stop()
	later := time.NewTimer(0)
	<-later.C
	armed := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-sl.kick:
			if !armed { // the first release since the last flush
				later.Reset(releaseDelay)
				armed = true
			}
		case <-later.C:
			armed = false
			sl.flush(sctx)
		case <-t.C:
			sl.heartbeat(sctx)
		}
	}
}

// releaseDelay is how long an ended job's lock waits for the next lock
// statement, which gives it back in the same round trip, before a
// statement of its own does. A busy pool sends its next lock statement
// sooner (a job's end frees a slot, which the locker fills); an idle one
// gives the locks back this much later. Only a job ended without leaving
// the queue (returned, or failed with an immediate retry) waits that much
// longer for another pool; this pool's own walk may take it again.
const releaseDelay = 5 * time.Millisecond

// flush gives back the locks of the jobs ended that the lock statement
// has not given back meanwhile (see lockIDs).
func (sl *sessionLocks) flush(ctx context.Context) {
	if sl.pending() == 0 {
		return // the lock statement took them
	}
	sl.mu.Lock()
	defer sl.mu.Unlock()
	ids := sl.takeReleases()
	if len(ids) == 0 || sl.conn == nil {
		return
	}
	var n int64
	if err := sl.conn.QueryRow(ctx, sl.stmts.SessionUnlock, idArray(ids), sl.pid).Scan(&n); err != nil || n == -1 {
		sl.lostLocked(cmp.Or(err, errNotOneSession))
		return
	}
	sl.used = time.Now()
	sl.checkUnlocked(n, len(ids))
}

// pending is how many ended jobs' locks wait to be given back.
func (sl *sessionLocks) pending() int {
	sl.heldMu.Lock()
	defer sl.heldMu.Unlock()
	return len(sl.releases)
}

// heartbeat checks the connection when it holds locks and has not been
// used for sessionHeartbeat.
func (sl *sessionLocks) heartbeat(ctx context.Context) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.conn == nil || time.Since(sl.used) < sessionHeartbeat || sl.heldCount() == 0 {
		return
	}
	var pid int32
	if err := sl.conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil || pid != sl.pid {
		sl.lostLocked(cmp.Or(err, errNotOneSession))
		return
	}
	sl.used = time.Now()
}

func (sl *sessionLocks) heldCount() int {
	sl.heldMu.Lock()
	defer sl.heldMu.Unlock()
	return len(sl.held)
}

// connect opens the lock connection if there is none; callers hold mu.
func (sl *sessionLocks) connect(ctx context.Context) error {
	if sl.conn != nil {
		return nil
	}
	c, err := sl.sessioner.Session(ctx)
	if err != nil {
		return fmt.Errorf("gue: session mode: open the lock connection: %w", err)
	}
	var pid int32
	var table int64
	var isolation string
	if err := c.QueryRow(ctx, `SELECT pg_backend_pid(), current_setting('max_locks_per_transaction')::bigint *
  (current_setting('max_connections')::bigint + current_setting('max_prepared_transactions')::bigint),
  current_setting('transaction_isolation')`).Scan(&pid, &table, &isolation); err != nil {
		_ = c.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("gue: session mode: open the lock connection: %w", err)
	}
	if err := sl.checkOwnSession(ctx, c, pid); err != nil {
		_ = c.Close(context.WithoutCancel(ctx))
		return err
	}
	holder, err := sl.checkHolderVisible(ctx, c)
	if err != nil {
		_ = c.Close(context.WithoutCancel(ctx))
		return err
	}
	room := max(table/lockTableShare, 1)
	if int64(sl.slots) > room && sl.room.Load() != room {
		sl.logger.Error("session mode: the pool has more workers than its share of the server's lock table; "+
			"fewer jobs run at once (raise max_locks_per_transaction for more)",
			adapter.F("workers", sl.slots), adapter.F("at-once", room), adapter.F("lock-table", table))
	}
	sl.room.Store(room)
	sl.conn, sl.pid, sl.holder, sl.used = c, pid, holder, time.Now()
	sl.oneTrip = batcher(c, isolation)
	sl.gen.Add(1)
	return nil
}

// batcher returns lock connection c as a QueryBatcher if it is one and
// its transactions are READ COMMITTED (isolation, as the server names
// it), nil if not. Its lock and load statements then go out together, in
// one transaction: under READ COMMITTED the load takes a snapshot of its
// own after the locks are taken, which is what makes it see the commits
// of a pool that ended a job before giving back its lock. Under another
// isolation the load would see the lock statement's snapshot, so each
// goes out alone, in a transaction of its own.
func batcher(c adapter.SessionConn, isolation string) adapter.QueryBatcher {
	// PostgreSQL runs READ UNCOMMITTED as READ COMMITTED.
	if b, ok := c.(adapter.QueryBatcher); ok && (isolation == "read committed" || isolation == "read uncommitted") {
		return b
	}
	return nil
}

// lostLocked closes the connection after err, which the server takes as
// the end of the session: every lock it held is released. The jobs held
// are cancelled with ErrLockLost and none of them may be ended (their gen
// is past). Callers hold mu.
func (sl *sessionLocks) lostLocked(err error) {
	cctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = sl.conn.Close(cctx)
	cancel()
	sl.conn, sl.oneTrip = nil, nil
	sl.gen.Add(1)
	sl.heldMu.Lock()
	ids := make([]int64, 0, len(sl.held))
	for id := range sl.held {
		ids = append(ids, id)
	}
	clear(sl.held)
	sl.releases = nil
	sl.heldMu.Unlock()
	cause := fmt.Errorf("%w: %w", ErrLockLost, err)
	for _, id := range ids {
		sl.inflight.cancelWith(id, cause)
	}
	sl.logger.Error("session mode: lost the lock connection; its running jobs are cancelled and run again",
		adapter.F("jobs", len(ids)), adapter.Err(err))
}

// takeReleases returns the jobs whose locks are to be given back, and
// forgets them: the caller's statement gives them back (or the lock
// connection is lost, and they with it).
func (sl *sessionLocks) takeReleases() []int64 {
	sl.heldMu.Lock()
	defer sl.heldMu.Unlock()
	ids := sl.releases
	sl.releases = nil
	return ids
}

// checkUnlocked logs an unlock statement that gave back fewer locks than
// it was sent.
func (sl *sessionLocks) checkUnlocked(n int64, sent int) {
	if n != int64(sent) {
		sl.logger.Error("the lock connection did not hold the locks of some ended jobs",
			adapter.F("released", n), adapter.F("expected", sent))
	}
}

// holds reports whether a job locked by connection gen still holds its
// lock, as far as this process knows.
func (sl *sessionLocks) holds(gen uint64) bool { return sl.gen.Load() == gen }

// release forgets job id, ended, and has its lock given back if
// connection gen, which locked it, is still the current one.
func (sl *sessionLocks) release(id int64, gen uint64) {
	sl.heldMu.Lock()
	if _, ok := sl.held[id]; ok && sl.gen.Load() == gen {
		delete(sl.held, id)
		sl.releases = append(sl.releases, id)
	}
	sl.heldMu.Unlock()
	select {
	case sl.kick <- struct{}{}:
	default:
	}
}

// errNoSessioner is returned by a pool in session mode whose Client's
// ConnPool cannot hold a connection of its own.
var errNoSessioner = errors.New("session mode needs a ConnPool that implements adapter.Sessioner (a connection held for its session locks)")

// checkHolderVisible names lock connection c's server session for the
// endings and checks that the pool's other connections see it alive, as
// every ending's proof of the lock needs: a pool whose connections cannot
// (another role, without pg_read_all_stats) would run every job again,
// its endings never applied.
func (sl *sessionLocks) checkHolderVisible(ctx context.Context, c adapter.SessionConn) (string, error) {
	var holder string
	if err := c.QueryRow(ctx, sl.stmts.SessionHolder).Scan(&holder); err != nil {
		return "", fmt.Errorf("gue: session mode: open the lock connection: %w", err)
	}
	var seen bool
	if err := sl.pool.QueryRow(ctx, sl.stmts.SessionHolderVisible, holder).Scan(&seen); err != nil {
		return "", fmt.Errorf("gue: session mode: open the lock connection: %w", err)
	}
	if !seen {
		return "", fmt.Errorf("gue: session mode: the pool's connections do not see the lock connection's session in pg_stat_activity, "+
			"by which a job's ending proves its lock: connect both as the same role, or grant pg_read_all_stats to the pool's role (lock connection %s)", holder)
	}
	return holder, nil
}
