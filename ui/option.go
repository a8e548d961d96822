package gueui

import (
	"net/http"

	"github.com/gue-go/gue/core/adapter"
)

// Option configures NewHandler.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	schema     string
	actions    bool
	authorize  func(*http.Request) bool
	traceURL   string
	logger     adapter.Logger
	countCap   int64
	pageLength int
}

// WithSchema sets the schema of gue's tables; default "public".
func WithSchema(schema string) Option {
	return optionFunc(func(c *config) { c.schema = schema })
}

// WithActions enables the dashboard's actions: retry, delete and cancel
// jobs, pause and resume queues. Without it (the default) the dashboard is
// read-only: it shows no action and refuses every POST.
func WithActions(enabled bool) Option {
	return optionFunc(func(c *config) { c.actions = enabled })
}

// WithAuthorizer sets a check run before every request, pages and actions
// alike: a request it returns false for gets 403 Forbidden. Use it to
// require your application's session or an admin role. Without it every
// request that reaches the handler is served: mount it behind your own
// authentication.
func WithAuthorizer(allow func(*http.Request) bool) Option {
	return optionFunc(func(c *config) { c.authorize = allow })
}

// WithTraceURL sets a URL template for a job's trace: "{trace_id}" is
// replaced with the trace ID of the W3C traceparent in the job's metadata
// (gueotel stores it there), e.g. "https://jaeger.example.com/trace/{trace_id}".
// Without it, or for a job with no traceparent, no link is shown.
func WithTraceURL(template string) Option {
	return optionFunc(func(c *config) { c.traceURL = template })
}

// WithLogger sets where the dashboard logs errors; default the process's
// slog.Default().
func WithLogger(l adapter.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithCountCap bounds each count on the overview (default 1,000): a count
// at the cap is shown as "1000+", so the page stays fast on a table of
// millions of jobs (each count reads at most about that many index entries
// per priority).
func WithCountCap(n int64) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.countCap = n
		}
	})
}
