package gue

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"

	"github.com/gue-go/gue/core/adapter"
)

// sessionCompleter deletes the jobs of a pool in session mode that are
// done and wrote nothing through Job.Tx, many in one statement
// (sqlq.Session.SessionDeleteMany): one round trip and one proof of the
// lock for all of them. (When the proof read pg_locks, one statement per
// job had a pool of 2,000 waiting on the lock table's partition locks.)
// Completions gather while a statement runs; completerLoops statements
// run at once.
type sessionCompleter struct {
	pool adapter.ConnPool
	mu   sync.Mutex
	// pending is the completions waiting, by queue.
	pending map[string][]completion
	kick    chan struct{}
}

// completion is one job's deletion waiting for its statement, which
// reports on done: nil (deleted), errLost (its lock was gone), or the
// statement's error. holder names the lock connection (sqlq's
// SessionHolder).
type completion struct {
	id     int64
	holder string
	done   chan error
}

// completerLoops is how many grouped deletions run at once: one runs
// while the next group gathers.
const completerLoops = 2

// completerMax is the most jobs one statement deletes.
const completerMax = 1000

func newSessionCompleter(pool adapter.ConnPool) *sessionCompleter {
	return &sessionCompleter{pool: pool, pending: map[string][]completion{}, kick: make(chan struct{}, completerLoops)}
}

// complete deletes job id of queue, held by the lock connection holder
// names, through the next grouped statement: nil when it was
// deleted, errLost when its lock was gone, or the statement's error.
func (sc *sessionCompleter) complete(queue string, id int64, holder string) error {
	done := doneChans.Get().(chan error)
	defer doneChans.Put(done) // empty again: its one answer is read below
	sc.mu.Lock()
	sc.pending[queue] = append(sc.pending[queue], completion{id: id, holder: holder, done: done})
	sc.mu.Unlock()
	select {
	case sc.kick <- struct{}{}:
	default:
	}
	return <-done
}

// doneChans are the completions' answer channels, reused: one per job
// was a sixth of the allocations of a session-mode job in the bench.
var doneChans = sync.Pool{New: func() any { return make(chan error, 1) }}

// run deletes what is pending until ctx ends; stmt returns the statement
// to use (sqlq's SessionDeleteMany, or its asynchronous form). Pending
// completions are all answered before it returns.
func (sc *sessionCompleter) run(ctx context.Context, stmt func() string) {
	var wg sync.WaitGroup
	for range completerLoops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					sc.flush(context.WithoutCancel(ctx), stmt()) // answer every waiter
					return
				case <-sc.kick:
				}
				for sc.flush(context.WithoutCancel(ctx), stmt()) {
				}
			}
		}()
	}
	wg.Wait()
}

// flush runs one statement for the completions of one queue and one lock
// connection, and reports whether it found any.
func (sc *sessionCompleter) flush(ctx context.Context, stmt string) bool {
	sc.mu.Lock()
	var queue string
	var group []completion
	for q, cs := range sc.pending {
		queue = q
		holder := cs[0].holder
		rest := cs[:0]
		for _, c := range cs {
			if c.holder == holder && len(group) < completerMax {
				group = append(group, c)
			} else {
				rest = append(rest, c)
			}
		}
		if len(rest) == 0 {
			delete(sc.pending, q)
		} else {
			sc.pending[q] = rest
		}
		break
	}
	sc.mu.Unlock()
	if len(group) == 0 {
		return false
	}
	ids := make([]int64, len(group))
	for i, c := range group {
		ids[i] = c.id
	}
	var list sql.NullString
	if err := sc.pool.QueryRow(ctx, stmt, queue, idArray(ids), group[0].holder).Scan(&list); err != nil {
		for _, c := range group {
			c.done <- err
		}
		return true
	}
	deleted := map[int64]bool{}
	for _, s := range strings.Split(list.String, ",") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			deleted[id] = true
		}
	}
	for _, c := range group {
		if deleted[c.id] {
			c.done <- nil
		} else {
			c.done <- errLost
		}
	}
	return true
}
