package gueotel_test

import (
	"context"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	gueotel "github.com/gue-go/gue/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestQueueMetrics(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	c := gue.NewClient(pool)
	for _, j := range []*gue.Job{{Type: "a", Queue: "q"}, {Type: "a", Queue: "q"}, {Type: "a", Queue: "q", RunAt: time.Now().Add(time.Hour)}} {
		if err := c.Enqueue(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.PauseQueue(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	unregister, err := gueotel.RegisterQueueMetrics(c, gueotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	jobs := map[string]int64{}
	paused := map[string]int64{}
	var oldest float64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					q, _ := p.Attributes.Value(gueotel.QueueKey)
					st, _ := p.Attributes.Value(gueotel.JobStateKey)
					if m.Name == "gue.queue.jobs" {
						jobs[q.AsString()+"/"+st.AsString()] = p.Value
					} else if m.Name == "gue.queue.paused" {
						paused[q.AsString()] = p.Value
					}
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					if q, _ := p.Attributes.Value(gueotel.QueueKey); q.AsString() == "q" {
						oldest = p.Value
					}
				}
			}
		}
	}
	if jobs["q/ready"] != 2 || jobs["q/scheduled"] != 1 || jobs["q/dead"] != 0 || paused["p"] != 1 || paused["q"] != 0 || oldest <= 0 {
		t.Errorf("gauges: jobs %v, paused %v, oldest %v", jobs, paused, oldest)
	}
	if err := unregister(); err != nil {
		t.Error(err)
	}
	if _, err := gueotel.RegisterQueueMetrics(nil); err == nil {
		t.Error("a nil client registered")
	}
}
