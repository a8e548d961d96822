package gue

import (
	"context"

	"github.com/gue-go/gue/core/adapter"
)

// endings returns the SQL whose statements end the jobs a worker locks: q
// itself, whose endings also forget the jobs' cancellation requests (a
// request belongs to one run, see Cancel), when the role may delete from
// gue_jobs_cancel; otherwise q.plainEnds, whose endings touch only gue_jobs
// (and gue_jobs_dead for a dead job), so that a role granted DML on
// gue_jobs alone still works jobs. The requests such a role leaves behind
// are forgotten by RetryDead, by the statements of a role that may, and by
// PurgeDead. Looked up once through db; a failed look-up (or a schema not
// migrated yet) answers plainEnds, the safe choice, and is tried again next
// time.
func (q *queries) endings(ctx context.Context, db adapter.Queryable) *queries {
	if q.plainEnds == nil {
		return q // plainEnds itself
	}
	switch q.forgets.Load() {
	case 1:
		return q
	case 2:
		return q.plainEnds
	}
	var exists, may bool
	if err := db.QueryRow(ctx, q.mayForget, quoteIdent(q.schema)+".gue_jobs_cancel").Scan(&exists, &may); err != nil || !exists {
		return q.plainEnds
	}
	if may {
		q.forgets.Store(1)
		return q
	}
	q.forgets.Store(2)
	return q.plainEnds
}
