package gue

import (
	"context"
	"sync/atomic"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/sqlq"
)

// queries is the SQL of one schema (internal/sqlq), built once per Client
// in each dialect and each kind of ending, so that the hot path never
// formats strings. The dialect and the kind of ending are looked up once,
// through the database, and then chosen by which Set a caller holds:
// nothing tests a flag afterwards.
type queries struct {
	// Set is the PostgreSQL set that forgets cancellation requests, for
	// the statements every dialect shares. The others come from the set
	// on or endings chooses: the fields below hide them here, so reading
	// one from queries does not compile. (sqlq's
	// TestOnlyDialectStatementsDiffer lists them.)
	*sqlq.Set
	Dialect, Lock, ClockFirst, DeleteAsync, DeleteBatch, AsyncCommit, QueueList, QueueStats, QueueStatsAll, SessionDeleteAsync, SessionDeleteManyAsync chosenByDialect
	// citus caches whether the schema's gue_jobs is a distributed Citus
	// table: 0 not looked up yet, 1 no, 2 yes (see on).
	citus atomic.Int32
	// forgets caches whether the role may delete cancellation requests:
	// 0 not looked up yet, 1 yes, 2 no (see endings).
	forgets atomic.Int32
	// sets holds the statements by dialect, then by forget (0 no, 1 yes).
	sets [2][2]*sqlq.Set
}

// chosenByDialect hides a field of sqlq.Set that differs by dialect.
type chosenByDialect struct{}

func newQueries(schema string) *queries {
	q := &queries{}
	for _, d := range []sqlq.Dialect{sqlq.PostgreSQL, sqlq.Citus} {
		q.sets[d][0] = sqlq.New(schema, d, false)
		q.sets[d][1] = sqlq.New(schema, d, true)
	}
	q.Set = q.sets[sqlq.PostgreSQL][1]
	return q
}

// on returns the statements in the schema's dialect: Citus when its
// gue_jobs is a distributed table, looked up through db the first time it
// is asked (a table distributed later is not noticed by statements built
// before: create Clients after DistributeCitus). A failed look-up answers
// PostgreSQL and is tried again next time.
func (q *queries) on(ctx context.Context, db adapter.Queryable) *sqlq.Set {
	return q.sets[q.dialect(ctx, db)][1]
}

func (q *queries) dialect(ctx context.Context, db adapter.Queryable) sqlq.Dialect {
	switch q.citus.Load() {
	case 1:
		return sqlq.PostgreSQL
	case 2:
		return sqlq.Citus
	}
	dist, err := citusDistributed(ctx, db, quoteIdent(q.Schema))
	if err != nil {
		return sqlq.PostgreSQL
	}
	if dist {
		q.citus.Store(2)
		return sqlq.Citus
	}
	q.citus.Store(1)
	return sqlq.PostgreSQL
}

// endings returns the statements, in the schema's dialect (see on), whose
// endings a worker runs: ones that also forget the jobs' cancellation
// requests (a request belongs to one run, see Cancel) when the role may
// delete from gue_jobs_cancel; otherwise ones that touch only gue_jobs
// (and gue_jobs_dead for a dead job), so that a role granted DML on
// gue_jobs alone still works jobs. The requests such a role leaves behind
// are forgotten by RetryDead, by the statements of a role that may, and by
// PurgeDead. Looked up once through db; a failed look-up (or a schema not
// migrated yet) answers the ones that do not forget, the safe choice, and
// is tried again next time.
func (q *queries) endings(ctx context.Context, db adapter.Queryable) *sqlq.Set {
	d := q.dialect(ctx, db)
	switch q.forgets.Load() {
	case 1:
		return q.sets[d][1]
	case 2:
		return q.sets[d][0]
	}
	var exists, may bool
	if err := db.QueryRow(ctx, q.MayForget, quoteIdent(q.Schema)+".gue_jobs_cancel").Scan(&exists, &may); err != nil || !exists {
		return q.sets[d][0]
	}
	if may {
		q.forgets.Store(1)
		return q.sets[d][1]
	}
	q.forgets.Store(2)
	return q.sets[d][0]
}
