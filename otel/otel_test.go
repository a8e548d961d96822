package gueotel_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gue-go/gue/conformance"
	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/driver-pgxv5"
	gueotel "github.com/gue-go/gue/otel"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestMain(m *testing.M) {
	code := m.Run()
	conformance.Terminate()
	os.Exit(code)
}

func open(t *testing.T, dsn string) adapter.ConnPool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pgxv5.NewConnPool(pool)
}

// newPool returns a migrated pool on a fresh database.
func newPool(t *testing.T) adapter.ConnPool {
	t.Helper()
	pool := open(t, conformance.NewDatabase(t, open))
	if err := gue.Migrate(context.Background(), pool, ""); err != nil {
		t.Fatal(err)
	}
	return pool
}

func attrOf(attrs []attribute.KeyValue, key attribute.Key) string {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value.Emit()
		}
	}
	return ""
}

func TestTracesAndMetrics(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	c := gue.NewClient(pool,
		gueotel.WithTelemetry(gueotel.WithTracerProvider(tp), gueotel.WithMeterProvider(mp),
			gueotel.WithPropagators(propagation.TraceContext{})),
		gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))

	// The request that enqueues: four jobs on their own, one in a transaction.
	reqCtx, request := tp.Tracer("test").Start(ctx, "request")
	for i, typ := range []string{"ok", "fails", "panics", "mystery"} {
		if err := c.Enqueue(reqCtx, &gue.Job{Type: typ, Queue: "q", Priority: int16(i)}); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EnqueueTx(reqCtx, &gue.Job{Type: "ok", Queue: "q", Priority: 9}, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	request.End()

	var handlerSpans []trace.SpanContext
	w := gue.NewWorker(c, gue.WorkMap{
		"ok": func(j *gue.Job) error {
			handlerSpans = append(handlerSpans, trace.SpanContextFromContext(j.Context()))
			return nil
		},
		"fails":  func(*gue.Job) error { return errors.New("handler failed") },
		"panics": func(*gue.Job) error { panic("boom") },
	}, gue.WithWorkerQueue("q"))
	worked := 0
	for w.WorkOne(ctx) {
		worked++
	}
	if worked != 5 {
		t.Fatalf("worked %d jobs, want 5", worked)
	}

	spans := recorder.Ended()
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var enqueues, processes []sdktrace.ReadOnlySpan
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
		switch s.Name() {
		case "enqueue q":
			enqueues = append(enqueues, s)
		case "process q":
			processes = append(processes, s)
		}
	}
	if len(enqueues) != 5 || len(processes) != 5 {
		t.Fatalf("spans: %d enqueue q, %d process q (of %d); want 5 and 5", len(enqueues), len(processes), len(spans))
	}
	for _, s := range enqueues {
		if s.SpanKind() != trace.SpanKindProducer || s.Parent().SpanID() != request.SpanContext().SpanID() {
			t.Errorf("enqueue span kind %v parent %v; want producer, child of the request", s.SpanKind(), s.Parent().SpanID())
		}
		if attrOf(s.Attributes(), "messaging.system") != "gue" || attrOf(s.Attributes(), "messaging.destination.name") != "q" ||
			attrOf(s.Attributes(), "messaging.message.id") == "" || attrOf(s.Attributes(), "messaging.operation.type") != "send" {
			t.Errorf("enqueue span attributes: %v", s.Attributes())
		}
	}
	wantOutcome := map[string]string{"ok": "done", "fails": "error", "panics": "panic", "mystery": "unknown_type"}
	for _, s := range processes {
		parent, ok := byID[s.Parent().SpanID()]
		if !ok || parent.Name() != "enqueue q" || s.SpanContext().TraceID() != request.SpanContext().TraceID() {
			t.Errorf("process span is not a child of an enqueue span in the request's trace: parent %v", s.Parent())
			continue
		}
		typ := attrOf(s.Attributes(), "gue.job.type")
		if attrOf(parent.Attributes(), "messaging.message.id") != attrOf(s.Attributes(), "messaging.message.id") {
			t.Errorf("process span of job %s has the enqueue span of job %s as parent",
				attrOf(s.Attributes(), "messaging.message.id"), attrOf(parent.Attributes(), "messaging.message.id"))
		}
		if got := attrOf(s.Attributes(), "gue.job.outcome"); got != wantOutcome[typ] {
			t.Errorf("%s: outcome %q, want %q", typ, got, wantOutcome[typ])
		}
		wantStatus := codes.Error
		if typ == "ok" {
			wantStatus = codes.Unset
		}
		if s.Status().Code != wantStatus || s.SpanKind() != trace.SpanKindConsumer {
			t.Errorf("%s: status %v kind %v; want %v, consumer", typ, s.Status(), s.SpanKind(), wantStatus)
		}
		if typ != "ok" && len(s.Events()) == 0 {
			t.Errorf("%s: no error event recorded", typ)
		}
	}
	for _, sc := range handlerSpans {
		if s, ok := byID[sc.SpanID()]; !ok || s.Name() != "process q" {
			t.Errorf("the handler's j.Context() does not carry its process span")
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	counts := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != gueotel.ScopeName || sm.Scope.Version != gueotel.Version() {
			t.Errorf("scope %s %s, want %s %s", sm.Scope.Name, sm.Scope.Version, gueotel.ScopeName, gueotel.Version())
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					key := m.Name
					for _, k := range []attribute.Key{gueotel.JobOutcomeKey, gueotel.LockResultKey} {
						if v, ok := p.Attributes.Value(k); ok {
							key += "/" + v.Emit()
						}
					}
					sums[key] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					counts[m.Name] += p.Count
				}
			}
		}
	}
	want := map[string]int64{
		"gue.jobs.enqueued": 5, "gue.jobs.worked/done": 2, "gue.jobs.worked/error": 1,
		"gue.jobs.worked/panic": 1, "gue.jobs.worked/unknown_type": 1,
		"gue.lock.attempts/locked": 5, "gue.lock.attempts/empty": 1,
	}
	for k, v := range want {
		if sums[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, sums[k], v, sums)
		}
	}
	if counts["gue.job.duration"] != 5 || counts["gue.job.lag"] != 5 {
		t.Errorf("histogram counts %v, want 5 each", counts)
	}
}

// Without options the global providers are used.
func TestGlobalProvidersByDefault(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder)))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	ctx := context.Background()
	c := gue.NewClient(newPool(t), gueotel.WithTelemetry())
	if err := c.Enqueue(ctx, &gue.Job{Type: "t"}); err != nil {
		t.Fatal(err)
	}
	if !gue.NewWorker(c, gue.WorkMap{"t": func(*gue.Job) error { return nil }}).WorkOne(ctx) {
		t.Fatal("no job worked")
	}
	names := []string{}
	for _, s := range recorder.Ended() {
		names = append(names, s.Name())
	}
	if fmt.Sprint(names) != "[enqueue process]" {
		t.Errorf("spans through the global provider: %v, want [enqueue process]", names)
	}
}

// The lifecycle's outcomes reach the spans: a snooze is no error, a
// discarded job or one that reached its maximum attempts is.
func TestLifecycleOutcomes(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	c := gue.NewClient(pool, gueotel.WithTelemetry(gueotel.WithTracerProvider(tp)), gue.WithClientMaxAttempts(1))
	for _, typ := range []string{"snoozes", "discards", "dies"} {
		if err := c.Enqueue(ctx, &gue.Job{Type: typ, Queue: "life"}); err != nil {
			t.Fatal(err)
		}
	}
	w := gue.NewWorker(c, gue.WorkMap{
		"snoozes":  func(*gue.Job) error { return gue.Snooze(time.Hour) },
		"discards": func(*gue.Job) error { return gue.ErrDiscard },
		"dies":     func(*gue.Job) error { return errors.New("last try") },
	}, gue.WithWorkerQueue("life"))
	for w.WorkOne(ctx) {
	}
	want := map[string]struct {
		outcome string
		status  codes.Code
	}{"snoozes": {"snoozed", codes.Unset}, "discards": {"discarded", codes.Error}, "dies": {"dead", codes.Error}}
	seen := 0
	for _, s := range recorder.Ended() {
		if s.Name() != "process life" {
			continue
		}
		seen++
		typ := attrOf(s.Attributes(), "gue.job.type")
		if got := attrOf(s.Attributes(), "gue.job.outcome"); got != want[typ].outcome || s.Status().Code != want[typ].status {
			t.Errorf("%s: outcome %q, status %v; want %q, %v", typ, got, s.Status().Code, want[typ].outcome, want[typ].status)
		}
	}
	if seen != 3 {
		t.Errorf("%d process spans; want 3", seen)
	}
}
