// Package guetest helps the tests of an application that uses gue-go,
// against a real PostgreSQL (the one the application's tests already use,
// migrated with gue.Migrate):
//
//   - RequireEnqueued, RequireEnqueuedN and RequireNotEnqueued check what the
//     code under test enqueued, by a Match whose zero fields match anything;
//     a failure shows the closest jobs found and how each differs.
//   - WorkOne locks and works exactly one job through the real engine (the
//     Client's hooks, backoff, max attempts and transactions all apply) and
//     reports how it ended.
//   - Drain runs a WorkerPool until a queue has nothing ready and nothing
//     running, and counts the outcomes.
//
// It imports only the standard library and gue: the adapter given is the
// one the application builds from its own driver.
package guetest
