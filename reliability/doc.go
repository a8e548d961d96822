// Package reliability holds the fault tests of gue-go: they build a small
// worker binary (cmd/gue-testworker), run it as real processes against real
// PostgreSQL, inflict crashes, restarts, killed connections and hostile input,
// and then check the database: no job lost, none worked twice without a
// crash, and nothing secret in the logs. The SIGKILL, restart and
// terminated-backend scenarios run in the default mode (a transaction per
// job), in batch mode (WithPoolBatchSize: a batch's jobs share one) and in
// session mode (WithPoolSessionLocks), each bounded by the jobs a process
// holds; the SIGKILL scenario runs again in session mode with pools of 512
// workers, which lock jobs ahead and start a worker's next job while its
// last one's ending is written.
//
// Running beside each other: the tests run one after another, but for
// two that call t.Parallel and so run together once the others have
// ended: TestExactlyOnceWithoutCrashes, which keeps both CPUs busy for
// two to three minutes, and TestNetworkPartition, which mostly waits (a
// 30 s partition). TestPeriodicOnePerTickAcrossProcesses ran beside them
// too until a make test where the starved processes decided 8 of the
// window's 10 ticks (it asks 9 to 11): it runs alone. Scenarios whose
// modes or variants each bring their own database or servers run those
// at once (atOnce).
//
// The package has no API; run its tests with go test (make test does).
package reliability
