package conformance

import (
	"context"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// OpenFunc opens an adapter.ConnPool on dsn with the adapter under test and
// registers t.Cleanup to close it. It fails t when it cannot connect.
type OpenFunc func(t *testing.T, dsn string) adapter.ConnPool

// Option tunes Run.
type Option func(*config)

type config struct {
	workers, jobs int
}

// WithConcurrency sizes the exactly-once test: workers concurrent workers
// over jobs jobs. The default is 8 workers over 400 jobs.
func WithConcurrency(workers, jobs int) Option {
	return func(c *config) { c.workers, c.jobs = workers, jobs }
}

// Run runs the whole suite as subtests of t, each on a database of its own.
func Run(t *testing.T, open OpenFunc, opts ...Option) {
	cfg := config{workers: 8, jobs: 400}
	for _, o := range opts {
		o(&cfg)
	}
	cases := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"AdapterNoRows", testAdapterNoRows},
		{"AdapterTxClosed", testAdapterTxClosed},
		{"AdapterTxOutlivesBeginContext", testAdapterTxOutlivesBeginContext},
		{"AdapterQueryRows", testAdapterQueryRows},
		{"AdapterAcquire", testAdapterAcquire},
		{"EnqueueDefaults", testEnqueueDefaults},
		{"EnqueueKeepsArgsAndFields", testEnqueueKeepsArgsAndFields},
		{"EnqueueMissingType", testEnqueueMissingType},
		{"EnqueueBadInput", testEnqueueBadInput},
		{"EnqueueCancelledContext", testEnqueueCancelledContext},
		{"EnqueueTxCommit", testEnqueueTxCommit},
		{"EnqueueTxRollback", testEnqueueTxRollback},
		{"LockJobEmptyQueue", testLockJobEmptyQueue},
		{"LockJobReturnsEveryField", testLockJobReturnsEveryField},
		{"LockJobSkipsLocked", testLockJobSkipsLocked},
		{"QueuesAreIsolated", testQueuesAreIsolated},
		{"HostileQueueNames", testHostileQueueNames},
		{"PriorityOrder", testPriorityOrder},
		{"LockHintsFindJobsBehindThem", testLockHintsFindJobsBehindThem},
		{"LockHintsKeepPriorityOrder", testLockHintsKeepPriorityOrder},
		{"LockHintsWakeFindsJobBehindThem", testLockHintsWakeFindsJobBehindThem},
		{"DelayedJobWaitsForRunAt", testDelayedJobWaitsForRunAt},
		{"ErrorRecordsAndReschedules", testErrorRecordsAndReschedules},
		{"ErrorRollsBackHandlerWrites", testErrorRollsBackHandlerWrites},
		{"DeleteAndDoneRemoveJob", testDeleteAndDoneRemoveJob},
		{"DoneWithoutDeleteKeepsJob", testDoneWithoutDeleteKeepsJob},
		{"AsyncCompletionOnlyWithoutTxWrites", testAsyncCompletionOnlyWithoutTxWrites},
		{"AsyncCompletionCanBeTurnedOff", testAsyncCompletionCanBeTurnedOff},
		{"CustomSchema", testCustomSchema},
		{"MigrateIdempotentAndConcurrent", testMigrateIdempotentAndConcurrent},
		{"NotMigrated", testNotMigrated},
		{"MigrateRefusesForeignTable", testMigrateRefusesForeignTable},
		{"MigrateRecreatesDroppedTable", testMigrateRecreatesDroppedTable},
		{"WorkerDeletesDoneJob", testWorkerDeletesDoneJob},
		{"WorkerRecordsHandlerError", testWorkerRecordsHandlerError},
		{"WorkerRecordsPanic", testWorkerRecordsPanic},
		{"WorkerRecordsUnknownType", testWorkerRecordsUnknownType},
		{"WorkerRecoversAbortedTx", testWorkerRecoversAbortedTx},
		{"WorkerCommitsHandlerWrites", testWorkerCommitsHandlerWrites},
		{"WorkerPoolStartTwice", testWorkerPoolStartTwice},
		{"GracefulShutdownFinishesJob", testGracefulShutdownFinishesJob},
		{"HardStopReturnsJob", testHardStopReturnsJob},
		{"HardStopMethodReturnsJob", testHardStopMethodReturnsJob},
		{"JobTimeoutRecordsError", testJobTimeoutRecordsError},
		{"IdleInTransactionTimeout", testIdleInTransactionTimeout},
		{"MetadataRoundTrip", testMetadataRoundTrip},
		{"MigrateAddsMetadataToOldTable", testMigrateAddsMetadataToOldTable},
		{"HooksSeeEveryStage", testHooksSeeEveryStage},
		{"ClientLoggerServesWorkers", testClientLoggerServesWorkers},
		{"BatchCompletesEachJobByOutcome", testBatchCompletesEachJobByOutcome},
		{"BatchExactlyOnce", testBatchExactlyOnce},
		{"BatchHardStopReturnsJobs", testBatchHardStopReturnsJobs},
		{"EnqueueBatch", testEnqueueBatch},
		{"EnqueueBatchAllOrNothing", testEnqueueBatchAllOrNothing},
		{"EnqueueBatchLarge", testEnqueueBatchLarge},
		{"CapabilityCopyFrom", testCapabilityCopyFrom},
		{"CapabilityListen", testCapabilityListen},
		{"CapabilityPipeline", testCapabilityPipeline},
		{"ListenWakesIdlePool", testListenWakesIdlePool},
		{"ClosedPool", testClosedPool},
		{"BackoffCountsFromFailure", testBackoffCountsFromFailure},
		{"NotifyReadyAtCommit", testNotifyReadyAtCommit},
		{"RunAtOutOfRange", testRunAtOutOfRange},
		{"LongQueueName", testLongQueueName},
		{"EnqueueSameStructTwice", testEnqueueSameStructTwice},
		{"UndecodableRowChargedToJob", testUndecodableRowChargedToJob},
		{"ErrorAfterDeleteRestoresJob", testErrorAfterDeleteRestoresJob},
		{"BatchSwallowedTxErrorChargesJob", testBatchSwallowedTxErrorChargesJob},
		{"BatchTimeoutInTxChargesJob", testBatchTimeoutInTxChargesJob},
		{"LateJobsAreNotStarvedByHints", testLateJobsAreNotStarvedByHints},
		{"BatchHardStopAbandonsStuckHandler", testBatchHardStopAbandonsStuckHandler},
		{"ConcurrentWorkersExactlyOnce", func(t *testing.T, e *env) {
			testConcurrentWorkersExactlyOnce(t, e, cfg.workers, cfg.jobs)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newEnv(t, open))
		})
	}
}

// env is one test's database: a pool opened by the adapter under test on a
// fresh database with the gue schema migrated into "public".
type env struct {
	t    *testing.T
	open OpenFunc
	dsn  string
	pool adapter.ConnPool
	ctx  context.Context
}

func newEnv(t *testing.T, open OpenFunc) *env {
	dsn := NewDatabase(t, open)
	e := &env{t: t, open: open, dsn: dsn, pool: open(t, dsn), ctx: context.Background()}
	if err := gue.Migrate(e.ctx, e.pool, ""); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return e
}

// client returns a Client on the env's pool.
func (e *env) client(opts ...gue.ClientOption) *gue.Client {
	return gue.NewClient(e.pool, opts...)
}

// enqueue enqueues j or fails the test.
func (e *env) enqueue(c *gue.Client, j *gue.Job) *gue.Job {
	e.t.Helper()
	if err := c.Enqueue(e.ctx, j); err != nil {
		e.t.Fatalf("enqueue %+v: %v", j, err)
	}
	return j
}

// lock locks the next job of queue or fails the test; nil when none is ready.
func (e *env) lock(c *gue.Client, queue string) *gue.Job {
	e.t.Helper()
	j, err := c.LockJob(e.ctx, queue)
	if err != nil {
		e.t.Fatalf("lock job from %q: %v", queue, err)
	}
	return j
}

// count runs a SELECT count(*) query.
func (e *env) count(query string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.pool.QueryRow(e.ctx, query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// jobs counts the rows of public.gue_jobs.
func (e *env) jobs() int64 {
	return e.count(`SELECT count(*) FROM gue_jobs`)
}

// exec runs a statement or fails the test.
func (e *env) exec(query string, args ...any) {
	e.t.Helper()
	if _, err := e.pool.Exec(e.ctx, query, args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

// done deletes and commits j, failing the test on error.
func (e *env) done(j *gue.Job) {
	e.t.Helper()
	if err := j.Delete(e.ctx); err != nil {
		e.t.Fatalf("delete job %d: %v", j.ID, err)
	}
	if err := j.Done(e.ctx); err != nil {
		e.t.Fatalf("done job %d: %v", j.ID, err)
	}
}

// within reports whether a and b are at most d apart.
func within(a, b time.Time, d time.Duration) bool {
	diff := a.Sub(b)
	return diff <= d && diff >= -d
}
