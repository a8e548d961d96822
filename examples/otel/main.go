// Command otel enqueues three jobs inside a traced "request", works them, and
// prints the spans and metrics that gueotel recorded to stdout. Run it with
// "make quickstart EXAMPLE=otel" from the repository root (a disposable
// PostgreSQL is started when DATABASE_URL is unset).
package main

import (
	"context"
	"errors"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/driver-pgxv5"
	gueotel "github.com/gue-go/gue/otel"
)

func main() {
	ctx := context.Background()

	// The application's usual OpenTelemetry setup, here with stdout exporters.
	spanExporter, err := stdouttrace.New(stdouttrace.WithPrettyPrint())
	if err != nil {
		log.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spanExporter))
	metricExporter, err := stdoutmetric.New(stdoutmetric.WithPrettyPrint())
	if err != nil {
		log.Fatal(err)
	}
	reader := sdkmetric.NewPeriodicReader(metricExporter)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.TraceContext{})

	pgxPool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pgxPool.Close()
	pool := pgxv5.NewConnPool(pgxPool)
	if err := gue.Migrate(ctx, pool, ""); err != nil {
		log.Fatal(err)
	}

	// The one line that enables tracing and metrics for the client and its workers.
	gc := gue.NewClient(pool, gueotel.WithTelemetry(), gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))

	reqCtx, span := tp.Tracer("example").Start(ctx, "HTTP POST /signup")
	for _, typ := range []string{"SendWelcomeMail", "SendWelcomeMail", "SyncCRM"} {
		if err := gc.Enqueue(reqCtx, &gue.Job{Type: typ, Queue: "mail"}); err != nil {
			log.Fatal(err)
		}
	}
	span.End()

	w := gue.NewWorker(gc, gue.WorkMap{
		"SendWelcomeMail": func(j *gue.Job) error { return nil },
		"SyncCRM":         func(j *gue.Job) error { return errors.New("CRM unavailable") },
	}, gue.WithWorkerQueue("mail"))
	for w.WorkOne(ctx) {
	}

	if err := tp.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	if err := mp.Shutdown(ctx); err != nil { // flushes the metrics to stdout
		log.Fatal(err)
	}
}
