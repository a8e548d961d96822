// Package reliability holds the fault tests of gue-go: they build a small
// worker binary (cmd/gue-testworker), run it as real processes against real
// PostgreSQL, inflict crashes, restarts, killed connections and hostile input,
// and then check the database: no job lost, none worked twice without a
// crash, and nothing secret in the logs. The SIGKILL, restart and
// terminated-backend scenarios run in the default mode (a transaction per
// job) and in batch mode (WithPoolBatchSize: a batch's jobs share one), each
// bounded by the jobs one transaction holds.
//
// The package has no API; run its tests with go test (make test does).
package reliability
