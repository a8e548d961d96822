package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gue-go/gue/conformance"
)

func TestMain(m *testing.M) {
	code := m.Run()
	conformance.Terminate()
	os.Exit(code)
}

// TestSmoke runs every system through every phase with tiny numbers, so the
// bench command keeps working; it measures nothing worth reading.
func TestSmoke(t *testing.T) {
	admin := conformance.ServerDSN(t)
	systems := []system{
		&gueGo{name: "gue-go", workers: 4, poll: 5 * time.Millisecond},
		&gueGo{name: "gue-go batch", workers: 4, batch: 2, poll: 5 * time.Millisecond},
		&riverSystem{workers: 4},
		&gueV5{workers: 4},
	}
	var results []result
	for _, s := range systems {
		r, err := measure(context.Background(), admin, s, 300, 4, 500*time.Millisecond, 3)
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		if r.enqueue <= 0 || r.drain <= 0 || r.cont <= 0 || r.p50 <= 0 || r.p99 < r.p50 {
			t.Errorf("%s: implausible result %+v", s.Name(), r)
		}
		results = append(results, r)
	}
	report(testWriter{t}, results, 300, 4, 500*time.Millisecond)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
