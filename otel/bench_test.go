package gueotel_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gue-go/gue/conformance"
	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/driver-pgxv5"
	gueotel "github.com/gue-go/gue/otel"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discard is a span exporter that drops everything, so the benchmark measures
// the instrumentation and the SDK, not an exporter.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkWorkOne works one job per iteration (lock, no-op WorkFunc, delete,
// commit), without and with the OpenTelemetry hooks (sampled spans batched to
// a discarding exporter, metrics aggregated by a manual reader).
func BenchmarkWorkOne(b *testing.B) {
	for _, instrumented := range []bool{false, true} {
		b.Run(fmt.Sprintf("otel=%v", instrumented), func(b *testing.B) {
			ctx := context.Background()
			adminDSN := conformance.ServerDSN(b)
			admin, err := pgxpool.New(ctx, adminDSN)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(admin.Close)
			p, err := pgxpool.New(ctx, conformance.CreateDatabase(b, pgxv5.NewConnPool(admin), adminDSN))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(p.Close)
			pool := pgxv5.NewConnPool(p)
			if err := gue.Migrate(ctx, pool, ""); err != nil {
				b.Fatal(err)
			}
			var opts []gue.ClientOption
			if instrumented {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
				b.Cleanup(func() { _ = tp.Shutdown(ctx) })
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				opts = append(opts, gueotel.WithTelemetry(gueotel.WithTracerProvider(tp), gueotel.WithMeterProvider(mp),
					gueotel.WithPropagators(propagation.TraceContext{})))
			}
			c := gue.NewClient(pool, opts...)
			for i := 0; i < b.N; i++ {
				if err := c.Enqueue(ctx, &gue.Job{Type: "noop"}); err != nil {
					b.Fatal(err)
				}
			}
			w := gue.NewWorker(c, gue.WorkMap{"noop": func(*gue.Job) error { return nil }})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !w.WorkOne(ctx) {
					b.Fatal("no job to work")
				}
			}
		})
	}
}
