// Package wake is how idle workers learn that a job is ready or due: the
// NOTIFY payloads enqueues send and pools parse, the Notifier that sends a
// Client's announcements after their commits, the Signal that wakes one idle
// worker, the DueTimer that wakes one when a known job comes due, and the
// Outage that reports a failing lock query once instead of once per poll.
// It holds no job and no SQL: the engine passes in what to run.
package wake
