// Package gue is a job queue on top of PostgreSQL that uses transaction-level
// row locks (SELECT ... FOR UPDATE SKIP LOCKED) held for the life of a job.
//
// A Client enqueues jobs, on its own or inside the caller's transaction
// (EnqueueTx), and locks them (LockJob). A Worker, or a WorkerPool of them,
// polls a queue, runs the WorkFunc registered for each job's type and then
// deletes the job (success) or records the error and reschedules it with the
// Client's Backoff (failure), committing the job's transaction either way.
// A job is therefore worked at least once, and exactly once unless a worker
// process or its connection dies while the job is running, in which case
// PostgreSQL rolls the transaction back and the job is worked again.
//
// The package imports only the standard library. Database access goes through
// the ports of package adapter; pick a driver module (driver-pgxv4, ...) to
// build an adapter.ConnPool. Create the table with Migrate, or apply SchemaSQL
// with your own migration tool.
package gue
