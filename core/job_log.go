package gue

import "github.com/gue-go/gue/core/adapter"

// jobLog is a worker's logger for one job: its messages carry the job's ID
// and type. The logger with those fields is made on the first message that
// needs it, not per job: With allocates, and it was a third of a no-op
// job's CPU in the bench, while most jobs log only "job done" at Debug,
// which the default logger drops.
type jobLog struct {
	base adapter.Logger
	j    *Job
	l    adapter.Logger // base.With the job's fields, once made
}

func (x *jobLog) with() adapter.Logger {
	if x.l == nil {
		x.l = x.base.With(adapter.F("job-id", x.j.ID), adapter.F("job-type", x.j.Type))
	}
	return x.l
}

// Debug passes the job's fields with the message. A logger that tells it
// drops Debug messages (adapter.DebugEnabler) gets none: building the
// fields cost three allocations per job.
func (x *jobLog) Debug(msg string, fields ...adapter.Field) {
	if d, ok := x.base.(adapter.DebugEnabler); ok && !d.DebugEnabled() {
		return
	}
	if x.l != nil {
		x.l.Debug(msg, fields...)
		return
	}
	x.base.Debug(msg, append([]adapter.Field{adapter.F("job-id", x.j.ID), adapter.F("job-type", x.j.Type)}, fields...)...)
}

// Info logs with the job's fields.
func (x *jobLog) Info(msg string, fields ...adapter.Field) { x.with().Info(msg, fields...) }

// Error logs with the job's fields.
func (x *jobLog) Error(msg string, fields ...adapter.Field) { x.with().Error(msg, fields...) }

// With returns the job's logger with more fields.
func (x *jobLog) With(fields ...adapter.Field) adapter.Logger { return x.with().With(fields...) }
