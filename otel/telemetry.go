package gueotel

import (
	"context"
	"strconv"
	"time"

	gue "github.com/gue-go/gue/core"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.30.0"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys of gue's own, beside the messaging semantic conventions.
const (
	JobTypeKey       = attribute.Key("gue.job.type")
	JobPriorityKey   = attribute.Key("gue.job.priority")
	JobErrorCountKey = attribute.Key("gue.job.error_count")
	JobOutcomeKey    = attribute.Key("gue.job.outcome")
	LockResultKey    = attribute.Key("gue.lock.result")
)

// systemName is the messaging.system value.
const systemName = "gue"

// Telemetry holds the tracer, propagator and metric instruments. It is safe
// for concurrent use.
type Telemetry struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator

	enqueued metric.Int64Counter
	worked   metric.Int64Counter
	duration metric.Float64Histogram
	lag      metric.Float64Histogram
	locks    metric.Int64Counter
}

// New returns the instrumentation configured by opts. Instrument creation
// errors go to otel.Handle; the affected instrument then records nothing.
func New(opts ...Option) *Telemetry {
	c := newConfig(opts)
	t := &Telemetry{
		tracer:     c.tracerProvider.Tracer(ScopeName, trace.WithInstrumentationVersion(Version())),
		propagator: c.propagator,
	}
	m := c.meterProvider.Meter(ScopeName, metric.WithInstrumentationVersion(Version()))
	var err error
	if t.enqueued, err = m.Int64Counter("gue.jobs.enqueued", metric.WithUnit("{job}"),
		metric.WithDescription("Jobs enqueued (or failed to enqueue, with error.type).")); err != nil {
		otel.Handle(err)
	}
	if t.worked, err = m.Int64Counter("gue.jobs.worked", metric.WithUnit("{job}"),
		metric.WithDescription("Job runs, by outcome: done, error, panic, unknown_type, returned, snoozed, discarded, dead, cancelled.")); err != nil {
		otel.Handle(err)
	}
	if t.duration, err = m.Float64Histogram("gue.job.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of a job run, WorkFunc and completion.")); err != nil {
		otel.Handle(err)
	}
	if t.lag, err = m.Float64Histogram("gue.job.lag", metric.WithUnit("s"),
		metric.WithDescription("Time from a job's run_at to the start of its run.")); err != nil {
		otel.Handle(err)
	}
	if t.locks, err = m.Int64Counter("gue.lock.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts to lock a job, by result: locked, empty, error.")); err != nil {
		otel.Handle(err)
	}
	return t
}

// WithTelemetry returns a gue.ClientOption that instruments the client and
// the workers built on it.
func WithTelemetry(opts ...Option) gue.ClientOption {
	return gue.WithClientHooks(New(opts...).Hooks())
}

// Hooks returns the gue.Hooks that record spans and metrics.
func (t *Telemetry) Hooks() gue.Hooks {
	return gue.Hooks{Enqueue: t.wrapEnqueue, Work: t.wrapWork, Locked: t.locked}
}

func spanName(op, queue string) string {
	if queue == "" {
		return op
	}
	return op + " " + queue
}

func jobAttrs(j *gue.Job) []attribute.KeyValue {
	return []attribute.KeyValue{
		semconv.MessagingSystemKey.String(systemName),
		semconv.MessagingDestinationName(j.Queue),
		JobTypeKey.String(j.Type),
	}
}

func (t *Telemetry) wrapEnqueue(next gue.EnqueueFunc) gue.EnqueueFunc {
	return func(ctx context.Context, j *gue.Job) error {
		attrs := jobAttrs(j)
		ctx, span := t.tracer.Start(ctx, spanName("enqueue", j.Queue),
			trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(attrs...),
			trace.WithAttributes(
				semconv.MessagingOperationName("enqueue"),
				semconv.MessagingOperationTypeSend,
				JobPriorityKey.Int(int(j.Priority)),
			))
		defer span.End()
		if j.Metadata == nil {
			j.Metadata = map[string]string{}
		}
		t.propagator.Inject(ctx, propagation.MapCarrier(j.Metadata))
		err := next(ctx, j)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			attrs = append(attrs, semconv.ErrorTypeOther)
		} else {
			span.SetAttributes(semconv.MessagingMessageID(strconv.FormatInt(j.ID, 10)))
		}
		t.enqueued.Add(ctx, 1, metric.WithAttributes(attrs...))
		return err
	}
}

func (t *Telemetry) wrapWork(next gue.RunFunc) gue.RunFunc {
	return func(ctx context.Context, j *gue.Job) error {
		start := time.Now()
		attrs := jobAttrs(j)
		parent := t.propagator.Extract(ctx, propagation.MapCarrier(j.Metadata))
		ctx, span := t.tracer.Start(parent, spanName("process", j.Queue),
			trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(attrs...),
			trace.WithAttributes(
				semconv.MessagingOperationName("process"),
				semconv.MessagingOperationTypeProcess,
				semconv.MessagingMessageID(strconv.FormatInt(j.ID, 10)),
				JobPriorityKey.Int(int(j.Priority)),
				JobErrorCountKey.Int(int(j.ErrorCount)),
			))
		t.lag.Record(ctx, start.Sub(j.RunAt).Seconds(), metric.WithAttributes(attrs...))

		err := next(ctx, j)

		outcome := gue.OutcomeOf(err)
		span.SetAttributes(JobOutcomeKey.String(string(outcome)))
		// A snooze is the handler's choice, not a failure.
		if err != nil && outcome != gue.OutcomeSnoozed {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
		attrs = append(attrs, JobOutcomeKey.String(string(outcome)))
		t.worked.Add(ctx, 1, metric.WithAttributes(attrs...))
		t.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attrs...))
		return err
	}
}

func (t *Telemetry) locked(ctx context.Context, queue string, j *gue.Job, err error) {
	result := "locked"
	switch {
	case err != nil:
		result = "error"
	case j == nil:
		result = "empty"
	}
	t.locks.Add(ctx, 1, metric.WithAttributes(
		semconv.MessagingSystemKey.String(systemName),
		semconv.MessagingDestinationName(queue),
		LockResultKey.String(result),
	))
}
