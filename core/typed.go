package gue

import (
	"encoding/json"
	"fmt"
)

// NewJob returns a job of type typ whose Args are args encoded as JSON, for
// Enqueue, EnqueueTx or EnqueueBatch; set its other fields (Queue, RunAt,
// UniqueKey, ...) as usual. It returns an error wrapping ErrInvalidArgs when
// args cannot be encoded (a channel, a function, a cyclic value).
func NewJob[T any](typ string, args T) (*Job, error) {
	b, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("gue: new job of type %q: %w: %w", typ, ErrInvalidArgs, err)
	}
	return &Job{Type: typ, Args: b}, nil
}

// WorkFor returns a WorkFunc that decodes the job's Args into a T and calls
// fn with them. Args that do not decode into a T make the run fail (an
// error wrapping ErrInvalidArgs, recorded on the job and retried like any
// failure, so a job written by an older version of the code can be fixed
// by deploying a handler that reads it), never a panic.
func WorkFor[T any](fn func(j *Job, args T) error) WorkFunc {
	return func(j *Job) error {
		var args T
		if err := json.Unmarshal(j.Args, &args); err != nil {
			return fmt.Errorf("gue: job %d of type %q: decode args into %T: %w: %w", j.ID, j.Type, args, ErrInvalidArgs, err)
		}
		return fn(j, args)
	}
}
