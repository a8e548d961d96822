package gue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gue-go/gue/core/adapter"
)

// MaxUniqueKeyLen is the longest Job.UniqueKey, in bytes: a key is an
// identity (an order number, a user's ID and an action), not a payload.
const MaxUniqueKeyLen = 512

// checkUniqueKey validates a job's unique key.
func checkUniqueKey(key string) error {
	if key == "" {
		return nil
	}
	if len(key) > MaxUniqueKeyLen || !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0 {
		return fmt.Errorf("%w: %d bytes (at most %d of UTF-8, no NUL byte)", ErrInvalidUniqueKey, len(key), MaxUniqueKeyLen)
	}
	return nil
}

// uniqueKeyArg is the job's unique key as a statement argument: NULL when
// the job has none.
func uniqueKeyArg(key string) any {
	if key == "" {
		return nil
	}
	return key
}

// duplicate finds the live job that an enqueue of j ran into (the INSERT
// did nothing), sets j.ID and j.RunAt to it and returns ErrDuplicateJob,
// wrapped. It reports found false when there is none any more: the live
// job finished (or the conflicting transaction rolled back) in between, and
// the enqueue may try again.
func (c *Client) duplicate(ctx context.Context, j *Job, db adapter.Queryable) (found bool, err error) {
	var id int64
	var runAt = j.RunAt
	if err := db.QueryRow(ctx, c.stmts.UniqueLive, j.Queue, j.UniqueKey).Scan(&id, &runAt); err != nil {
		if errors.Is(err, adapter.ErrNoRows) {
			return false, nil
		}
		return false, fmt.Errorf("gue: enqueue job of type %q: look up the live job of key %q: %w", j.Type, j.UniqueKey, err)
	}
	j.ID = id
	return true, fmt.Errorf("gue: enqueue job of type %q: %w: queue %q, key %q, live job %d", j.Type, ErrDuplicateJob, j.Queue, j.UniqueKey, id)
}

// writeErr classifies the error of a statement that wrote jobs: a job whose
// unique key a live job has (ErrDuplicateJob), gue not migrated, or else.
func (c *Client) writeErr(err error) error {
	// Citus passes a worker's unique violation on as XX000, naming the
	// shard's index (gue_jobs_unique_idx_102008): its text is what is left.
	if (errors.Is(err, adapter.ErrUniqueViolation) && strings.Contains(err.Error(), "gue_jobs_unique_idx")) ||
		strings.Contains(err.Error(), `violates unique constraint "gue_jobs_unique_idx`) {
		return fmt.Errorf("%w (nothing was written): %w", ErrDuplicateJob, err)
	}
	return notMigrated(c.schema, err)
}
