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
// and WorkerPools built on the client unless they are given their own; nil
// keeps adapter.NoOpLogger.
func WithClientLogger(logger adapter.Logger) ClientOption {
	return func(c *Client) { c.logger = logger }
}

// WithClientSchema sets the PostgreSQL schema holding gue_jobs; "" keeps
// "public". Any name is accepted verbatim (it is always quoted), except one
// with a NUL byte or invalid UTF-8, or longer than 63 bytes.
func WithClientSchema(schema string) ClientOption {
	return func(c *Client) { c.schema = schema }
}
