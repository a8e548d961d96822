package conformance

import (
	"testing"

	"github.com/gue-go/gue/core/adapter"
)

// OpenFunc opens an adapter.ConnPool on dsn with the adapter under test and
// registers t.Cleanup to close it. It fails t when it cannot connect.
type OpenFunc func(t *testing.T, dsn string) adapter.ConnPool

// Option tunes Run.
type Option func(*config)

type config struct {
	workers, jobs int
	features      *Features       // nil: found by type assertion
	citusDBs      *citusDatabases // on Citus: databases handed from case to case
	pooler        bool            // BehindPooler
}

// BehindPooler says that the pools the suite opens go through a pooler in
// transaction mode (see ThroughPgBouncer): a case that needs what such a
// pooler does not keep between transactions (a session's settings, LISTEN,
// a prepared statement) is skipped, and says why.
func BehindPooler() Option {
	return func(c *config) { c.pooler = true }
}

// needSession skips t behind a transaction-mode pooler, for why.
func (e *env) needSession(t *testing.T, why string) {
	t.Helper()
	if e.cfg.pooler {
		t.Skipf("behind a transaction-mode pooler: %s", why)
	}
}

// WithConcurrency sizes the exactly-once test: workers concurrent workers
// over jobs jobs. The default is 8 workers over 400 jobs.
func WithConcurrency(workers, jobs int) Option {
	return func(c *config) { c.workers, c.jobs = workers, jobs }
}

// Features declares which optional capabilities (core/adapter's
// capabilities.go) the adapter under test implements, as Watermill's test
// suite has its adapters do: a declared capability that the adapter's pool
// lacks fails the suite, and the cases of an undeclared one are skipped.
// Without WithFeatures the suite looks for each by type assertion and skips
// the missing ones, so that an adapter that loses a capability still passes:
// declare them.
type Features struct {
	// CopyFrom: adapter.CopyFromer (EnqueueBatch with COPY).
	CopyFrom bool
	// Listen: adapter.Listener (LISTEN/NOTIFY wake-up).
	Listen bool
	// Pipeline: adapter.Pipeliner (a job's transaction in two round trips).
	Pipeline bool
	// PipelineChain: adapter.PipelineChainer on the Pipeliner's
	// transactions (a job's commit and the next job's lock in one round
	// trip).
	PipelineChain bool
	// Sizer: adapter.Sizer (the pool tells its size).
	Sizer bool
	// Session: adapter.Sessioner (a connection of its own for session
	// locks: gue.WithPoolSessionLocks).
	Session bool
	// QueryBatch: adapter.QueryBatcher on the Sessioner's connections (a
	// session-mode pool locks jobs and reads them in one round trip).
	QueryBatch bool
}

// WithFeatures declares the adapter's optional capabilities (see Features).
func WithFeatures(f Features) Option {
	return func(c *config) { c.features = &f }
}

// testCase is one case of the suite, run on a database of its own.
type testCase struct {
	name string
	fn   func(t *testing.T, e *env)
}

// groups is the suite by area; each *_cases.go file owns its group, and the
// helpers they share are in helpers.go.
var groups = []struct {
	name  string
	cases []testCase
}{
	{"Capabilities", capabilitiesCases},
	{"Adapter", adapterCases},
	{"Enqueue", enqueueCases},
	{"EnqueueBatch", enqueueBatchCases},
	{"Lock", lockCases},
	{"LockHints", lockHintsCases},
	{"Worker", workerCases},
	{"Batch", batchCases},
	{"Completion", completionCases},
	{"Timeout", timeoutCases},
	{"Listen", listenCases},
	{"Hooks", hooksCases},
	{"Schema", schemaCases},
	{"Lifecycle", lifecycleCases},
	{"Unique", uniqueCases},
	{"Typed", typedCases},
	{"Queues", queuesCases},
	{"Periodic", periodicCases},
	{"Admin", adminCases},
	{"Due", dueCases},
	{"TestKit", testKitCases},
	{"Session", sessionCases},
}

// Run runs the whole suite as subtests of t, grouped by area
// (TestX/Enqueue/Defaults), each case in parallel on a database of its own.
func Run(t *testing.T, open OpenFunc, opts ...Option) {
	cfg := config{workers: 8, jobs: 400}
	for _, o := range opts {
		o(&cfg)
	}
	if Citus() {
		cfg.citusDBs = newCitusDatabases(t, open)
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.fn(t, newEnv(t, open, &cfg))
				})
			}
		})
	}
}
