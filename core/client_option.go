package gue

import "github.com/gue-go/gue/core/adapter"

// ClientOption configures a Client in NewClient.
type ClientOption func(*Client)

// WithClientBackoff sets the Backoff that Job.Error uses to reschedule failed
// jobs; nil keeps DefaultExponentialBackoff.
func WithClientBackoff(backoff Backoff) ClientOption {
	return func(c *Client) { c.backoff = backoff }
}

// WithClientID sets the client's ID, added to its log messages; the default
// is "client-" and a random suffix.
func WithClientID(id string) ClientOption {
	return func(c *Client) { c.id = id }
}

// WithClientLogger sets the client's Logger, which also serves the Workers
// and WorkerPools built on the client unless they are given their own. The
// default (and nil) is adapter.DefaultLogger(): log/slog's default logger, so
// errors are visible; pass adapter.NoOpLogger{} to silence the engine.
func WithClientLogger(logger adapter.Logger) ClientOption {
	return func(c *Client) { c.logger = logger }
}

// WithClientSchema sets the PostgreSQL schema holding gue_jobs; "" keeps
// "public". Any name is accepted verbatim (it is always quoted), except one
// with a NUL byte or invalid UTF-8, or longer than 63 bytes.
func WithClientSchema(schema string) ClientOption {
	return func(c *Client) { c.schema = schema }
}

// WithClientAsyncCompletion sets whether a job's completion may commit
// asynchronously (PostgreSQL's synchronous_commit = off for that one
// transaction): Done then returns without waiting for the commit to reach
// disk, which lets many workers finish jobs several times faster.
//
// It is on by default because it only ever applies to a transaction whose
// sole change is the deletion of the job: a job whose WorkFunc called
// Job.Tx (and so may have written its own rows) always commits as the
// caller's settings say, as do failures. In batch mode it applies to a
// batch whose jobs all finished and none called Job.Tx. A completion lost this way, to a
// PostgreSQL crash within a few hundred milliseconds of Done, brings the job
// back and it runs again: the at-least-once delivery every job gets anyway.
// The database itself stays consistent (nothing is half-committed), and a
// later synchronous commit on the server makes the earlier ones durable too.
//
// Turn it off (false) when a job must not run again once Done has returned,
// for example when the WorkFunc's outside effects are not idempotent and
// PostgreSQL crashes are more likely than the WorkFunc's own failures.
func WithClientAsyncCompletion(enabled bool) ClientOption {
	return func(c *Client) { c.syncCompletion = !enabled }
}

// WithClientNotify sets whether enqueues tell listening pools of their jobs
// with PostgreSQL's NOTIFY (default true), so that an idle pool starts a job
// at once instead of at its next poll.
//
// Enqueue sends the NOTIFY after its commit, and concurrent Enqueue calls of
// one Client share one (see Client.Enqueue); EnqueueTx and EnqueueBatch send
// it in their transaction, once per queue and transaction, since the job
// must not be announced before the caller commits. Turn it off when no pool
// listens — pools behind a pooler in transaction mode (WithPoolListen(false))
// or only pools of other databases — to spare every enqueue that cost.
func WithClientNotify(enabled bool) ClientOption {
	return func(c *Client) { c.noNotify = !enabled }
}

// WithClientMaxAttempts sets how many failed runs a job may have when its
// own Job.MaxAttempts is 0: the failure that reaches the limit moves the job
// to the dead table (reason max_attempts), in the job's own transaction,
// instead of rescheduling it. The default, 0, means no limit (the seed's
// behaviour: a job is retried forever). A negative n is an error that every
// call of the Client returns.
func WithClientMaxAttempts(n int32) ClientOption {
	return func(c *Client) { c.maxAttempts = n }
}
