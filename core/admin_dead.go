package gue

import (
	"context"
	"fmt"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/wake"
)

// RetryDead moves a dead job of queue back to the queue, ready now, with its
// error count and last error kept so that its history stays visible. It
// returns an error wrapping ErrJobNotFound when queue has no dead job id,
// and one wrapping ErrDuplicateJob when a live job has taken its unique key
// meanwhile (the job stays dead).
func (c *Client) RetryDead(ctx context.Context, queue string, id int64) error {
	if c.err != nil {
		return c.err
	}
	if err := checkText("retry dead job", queue); err != nil {
		return err
	}
	tag, err := c.pool.Exec(ctx, c.stmts.RetryDead, queue, id)
	if err != nil {
		return fmt.Errorf("gue: retry dead job %d: %w", id, c.writeErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("gue: retry dead job %d of queue %q: %w", id, queue, ErrJobNotFound)
	}
	if _, err := c.pool.Exec(ctx, c.stmts.Notify, wake.Payload(c.schema, queue)); err != nil {
		c.logger.Error("could not announce a retried job; pools find it by polling", adapter.Err(err))
	}
	return nil
}

// PurgeDead deletes the dead jobs of queue that died more than olderThan
// ago and returns how many it deleted. It also forgets any cancellation
// request of queue whose job no longer exists: the statements that end a
// job forget its request, so such rows come from older releases, or from a
// Cancel that raced the job's commit.
// A negative olderThan is an error.
func (c *Client) PurgeDead(ctx context.Context, queue string, olderThan time.Duration) (int64, error) {
	if c.err != nil {
		return 0, c.err
	}
	if err := checkText("purge dead jobs", queue); err != nil {
		return 0, err
	}
	if olderThan < 0 {
		return 0, fmt.Errorf("gue: purge dead jobs older than %s: the age must not be negative", olderThan)
	}
	tag, err := c.pool.Exec(ctx, c.stmts.PurgeDead, queue, time.Now().Add(-olderThan))
	if err != nil {
		return 0, fmt.Errorf("gue: purge dead jobs of queue %q: %w", queue, notMigrated(c.schema, err))
	}
	if _, err := c.pool.Exec(ctx, c.stmts.CancelPurge, queue); err != nil {
		return tag.RowsAffected(), fmt.Errorf("gue: purge cancellation requests of queue %q: %w", queue, err)
	}
	return tag.RowsAffected(), nil
}
