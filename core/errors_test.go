package gue

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/wake"
)

// Every error of bad input says "gue:" once, and EnqueueBatch names the job
// without repeating the single-job prefix.
func TestErrorMessagesHaveOnePrefix(t *testing.T) {
	c := NewClient(nil)
	ctx := context.Background()
	errs := map[string]error{
		"missing type": c.Enqueue(ctx, &Job{}),
		"nil job":      c.Enqueue(ctx, nil),
		"bad args":     c.Enqueue(ctx, &Job{Type: "Work", Args: []byte("{")}),
		"bad type":     c.Enqueue(ctx, &Job{Type: "a\x00"}),
		"batch type":   c.EnqueueBatch(ctx, []*Job{{Type: "t"}, {}}),
		"batch args":   c.EnqueueBatch(ctx, []*Job{{Type: "t"}, {Type: "Work", Args: []byte("{")}}),
	}
	for name, err := range errs {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "gue: ") || strings.Count(msg, "gue:") != 1 {
			t.Errorf("%s: %q; want exactly one leading \"gue: \"", name, msg)
		}
	}
	if err := errs["batch type"]; !errors.Is(err, ErrMissingType) || !strings.Contains(err.Error(), "job 1:") {
		t.Errorf("batch type: %v; want ErrMissingType naming job 1", err)
	}
	if err := errs["batch args"]; !errors.Is(err, ErrInvalidArgs) || !strings.Contains(err.Error(), `job 1: job of type "Work"`) {
		t.Errorf("batch args: %v", err)
	}
}

func TestNotMigratedWrapsOnlyMissingObjects(t *testing.T) {
	missing := adapter.WrapSQLState("42P01", errors.New(`ERROR: relation "s.gue_jobs" does not exist (SQLSTATE 42P01)`))
	err := notMigrated("s", missing)
	if !errors.Is(err, ErrNotMigrated) || !errors.Is(err, adapter.ErrUndefinedTable) || !strings.Contains(err.Error(), `gue.Migrate(ctx, pool, "s")`) {
		t.Errorf("undefined table: %v", err)
	}
	other := errors.New("connection refused")
	if got := notMigrated("s", other); got != other {
		t.Errorf("another error changed: %v", got)
	}
}

// With no logger chosen, the engine logs through slog.Default(), looked up
// at each message; a failing lock is logged once per outage.
func TestDefaultLoggerIsSlogDefault(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	c := NewClient(nil)
	var o wake.Outage
	cause := errors.New("dial tcp: connection refused")
	for i := 0; i < 5; i++ {
		o.Failed(c.logger, cause)
	}
	o.Succeeded(c.logger)
	o.Succeeded(c.logger)
	out := buf.String()
	if n := strings.Count(out, "could not lock a job"); n != 1 {
		t.Errorf("%d lock errors logged for one outage of 5 failures; want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "connection refused") || !strings.Contains(out, "client-id=") {
		t.Errorf("the outage's cause or the client's ID is missing:\n%s", out)
	}
	if n := strings.Count(out, "locking jobs works again"); n != 1 || !strings.Contains(out, "failed-attempts=5") {
		t.Errorf("recovery logged %d times (want 1, with failed-attempts=5):\n%s", n, out)
	}
	buf.Reset()
	quiet := NewClient(nil, WithClientLogger(adapter.NoOpLogger{}))
	quiet.logger.Error("not shown")
	if buf.Len() != 0 {
		t.Errorf("NoOpLogger wrote: %s", buf.String())
	}
}
