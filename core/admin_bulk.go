package gue

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// JobAction is an action of Client.ActOnJobs.
type JobAction string

// The actions on jobs.
const (
	ActionRetry  JobAction = "retry"  // Client.RetryJob
	ActionDelete JobAction = "delete" // Client.DeleteJob
	ActionCancel JobAction = "cancel" // Client.Cancel
)

// BulkResult is how an action on many jobs went.
type BulkResult struct {
	// Done is the jobs the action succeeded on.
	Done int
	// Running is the jobs a worker held: retry and delete leave them
	// alone; cancel asked their workers to cancel them.
	Running int
	// Missing is the jobs no longer there (finished meanwhile).
	Missing int
	// Failed is the jobs the action failed on otherwise; FirstErr says why.
	Failed   int
	FirstErr error
}

// ActOnJobs applies action to each job of refs, one statement per job (each
// names its queue), and counts how it went; progress, when not nil, is
// called after each job with the number done so far. It stops early only
// when ctx ends.
func (c *Client) ActOnJobs(ctx context.Context, action JobAction, refs []JobRef, progress func(n int)) (BulkResult, error) {
	var do func(context.Context, string, int64) error
	switch action {
	case ActionRetry:
		do = c.RetryJob
	case ActionDelete:
		do = c.DeleteJob
	case ActionCancel:
		do = c.Cancel
	default:
		return BulkResult{}, fmt.Errorf("gue: unknown job action %q (want retry, delete or cancel)", action)
	}
	var r BulkResult
	for i, ref := range refs {
		if err := ctx.Err(); err != nil {
			return r, fmt.Errorf("gue: %s jobs: %w", action, err)
		}
		switch err := do(ctx, ref.Queue, ref.ID); {
		case err == nil:
			r.Done++
		case errors.Is(err, ErrJobRunning):
			r.Running++
		case errors.Is(err, ErrJobNotFound):
			r.Missing++
		default:
			r.Failed++
			if r.FirstErr == nil {
				r.FirstErr = err
			}
		}
		if progress != nil {
			progress(i + 1)
		}
	}
	return r, nil
}

// Cursor encodes r as an opaque, URL-safe token, for keyset pagination in
// a URL or on a command line (ParseCursor reads it back).
func (r JobRef) Cursor() string {
	b, _ := json.Marshal(r)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor reads a token made by JobRef.Cursor.
func ParseCursor(s string) (JobRef, error) {
	var r JobRef
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		return r, fmt.Errorf("gue: not a job cursor: %q", s)
	}
	if !storable(r.Queue) {
		return JobRef{}, fmt.Errorf("gue: job cursor %q: %w", s, ErrInvalidType)
	}
	return r, nil
}
