// Package gueotel instruments gue-go with OpenTelemetry: a producer span for
// every enqueue, a consumer span for every job run (a child of the span that
// enqueued the job, through W3C trace context stored in the job's metadata),
// and metrics of enqueues, runs by outcome, run duration, queue lag and lock
// attempts.
//
// It plugs into the core's extension point, gue.Hooks, so the core keeps no
// OpenTelemetry dependency. One option on the client enables everything,
// including its workers:
//
//	gc := gue.NewClient(pool, gueotel.WithTelemetry())
//
// Without options the global TracerProvider, MeterProvider and propagator
// (otel.GetTracerProvider, ...) are used, read when WithTelemetry is called.
//
// Spans: "enqueue <queue>" (kind producer) and "process <queue>" (kind
// consumer); the queue is left out of the name when it is "". Attributes:
// messaging.system "gue", messaging.destination.name (queue),
// messaging.operation.name and .type, messaging.message.id (job ID),
// gue.job.type, gue.job.priority, gue.job.error_count and, on process spans,
// gue.job.outcome. Errors are recorded as span events with status Error.
//
// Metrics (scope ScopeName): gue.jobs.enqueued, gue.jobs.worked (by
// gue.job.outcome), gue.job.duration (s), gue.job.lag (s, from the job's
// run_at to the start of its run) and gue.lock.attempts (by gue.lock.result:
// locked, empty, error).
package gueotel
