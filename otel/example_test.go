package gueotel_test

import (
	"context"
	"log"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	gueotel "github.com/gue-go/gue/otel"
)

// pool is the application's pool through its driver adapter
// (pgxv5.NewConnPool, say).
var pool adapter.ConnPool

// One option traces and measures a Client and every worker built on it.
func ExampleWithTelemetry() {
	tp := sdktrace.NewTracerProvider()      // with the application's exporter
	mp := sdkmetric.NewMeterProvider()      // with the application's reader
	defer tp.Shutdown(context.Background()) //nolint:errcheck // example
	client := gue.NewClient(pool, gueotel.WithTelemetry(
		gueotel.WithTracerProvider(tp),
		gueotel.WithMeterProvider(mp),
	))
	_ = client
	// Or the global providers, set up as usual:
	otel.SetTracerProvider(tp)
	client = gue.NewClient(pool, gueotel.WithTelemetry())
	if err := client.Enqueue(context.Background(), &gue.Job{Type: "traced"}); err != nil {
		log.Fatal(err)
	}
}
