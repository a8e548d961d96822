package gue

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// goroutines runs every func exactly once, concurrently when they overlap,
// and a goroutine that finished one takes the next instead of a new one.
func TestGoroutinesRunEachOnce(t *testing.T) {
	g := newGoroutines()
	const n = 500
	var ran [n]atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		g.run(func() {
			defer wg.Done()
			ran[i].Add(1)
		})
	}
	wg.Wait()
	for i := range ran {
		if got := ran[i].Load(); got != 1 {
			t.Fatalf("func %d ran %d times, want 1", i, got)
		}
	}
	// Two funcs that must overlap: the second starts while the first waits
	// for it, so run must not queue it behind the first.
	release := make(chan struct{})
	done := make(chan struct{})
	g.run(func() { <-release; close(done) })
	g.run(func() { close(release) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a func waiting for another blocked it: run queued instead of starting a goroutine")
	}
}

// countingLogger counts With calls and messages.
type countingLogger struct {
	with, msgs *atomic.Int32
	fields     int
}

func (l countingLogger) Debug(_ string, f ...adapter.Field) { l.msgs.Add(1) }
func (l countingLogger) Info(_ string, f ...adapter.Field)  { l.msgs.Add(1) }
func (l countingLogger) Error(_ string, f ...adapter.Field) { l.msgs.Add(1) }
func (l countingLogger) With(f ...adapter.Field) adapter.Logger {
	l.with.Add(1)
	return countingLogger{with: l.with, msgs: l.msgs, fields: l.fields + len(f)}
}

// jobLog makes the logger with the job's fields once, and not at all for
// Debug messages, which carry the fields themselves.
func TestJobLogWithOnlyWhenNeeded(t *testing.T) {
	base := countingLogger{with: &atomic.Int32{}, msgs: &atomic.Int32{}}
	x := &jobLog{base: base, j: &Job{ID: 7, Type: "t"}}
	x.Debug("job done")
	if n := base.with.Load(); n != 0 {
		t.Fatalf("Debug called With %d times, want 0", n)
	}
	x.Error("job failed")
	x.Info("again")
	if n := base.with.Load(); n != 1 {
		t.Fatalf("Error and Info called With %d times, want 1", n)
	}
	if l, ok := x.l.(countingLogger); !ok || l.fields != 2 {
		t.Fatalf("job logger %#v; want the job's two fields", x.l)
	}
	if n := base.msgs.Load(); n != 3 {
		t.Fatalf("%d messages logged, want 3", n)
	}
}

// quietLogger counts messages and writes no Debug messages.
type quietLogger struct{ countingLogger }

func (quietLogger) DebugEnabled() bool { return false }

// A logger that says it drops Debug messages gets none from jobLog (whose
// fields cost allocations per job); others get them. Control: the
// countingLogger, which does not say, counts the message.
func TestJobLogSkipsDebugWhenDisabled(t *testing.T) {
	quiet := quietLogger{countingLogger{with: &atomic.Int32{}, msgs: &atomic.Int32{}}}
	(&jobLog{base: quiet, j: &Job{ID: 7, Type: "t"}}).Debug("job done")
	if n := quiet.msgs.Load(); n != 0 {
		t.Errorf("a logger without Debug got %d messages, want 0", n)
	}
	loud := countingLogger{with: &atomic.Int32{}, msgs: &atomic.Int32{}}
	(&jobLog{base: loud, j: &Job{ID: 7, Type: "t"}}).Debug("job done")
	if n := loud.msgs.Load(); n != 1 {
		t.Errorf("a logger that does not tell got %d messages, want 1", n)
	}
}
