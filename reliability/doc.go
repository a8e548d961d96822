// Package reliability holds the fault tests of gue-go: they build a small
// worker binary (cmd/gue-testworker), run it as real processes against real
// PostgreSQL, inflict crashes, restarts, killed connections and hostile input,
// and then check the database: no job lost, none worked twice without a
// crash, and nothing secret in the logs. The SIGKILL, restart and
// terminated-backend scenarios run in the default mode (a transaction per
// job), in batch mode (WithPoolBatchSize: a batch's jobs share one) and in
// session mode (WithPoolSessionLocks), each bounded by the jobs a process
// holds.
//
// Running beside each other: the tests run one after another, but for
// three that call t.Parallel and so run together once the others have
// ended: TestExactlyOnceWithoutCrashes, which keeps both CPUs busy for
// two to three minutes, and TestNetworkPartition and
// TestPeriodicOnePerTickAcrossProcesses, which mostly wait (a 30 s
// partition, a 10 s window of ticks). Run one after another, the three
// took 216 s; beside each other 168 s, at the same exactly-once rate (688
// jobs/s against 670; 2026-12-07, 2 cores). Scenarios whose modes or
// variants each bring their own database or servers run those at once
// (atOnce).
//
// The package has no API; run its tests with go test (make test does).
package reliability
