package adapter

import (
	"bytes"
	"errors"
	"log"
	"log/slog"
	"strings"
	"testing"
)

func TestStdLogger(t *testing.T) {
	var buf bytes.Buffer
	l := NewStdLogger(log.New(&buf, "", 0)).With(F("worker", "w1"))
	l.Error("job failed", Err(errors.New("boom")), F("job-id", 7))
	if got := strings.TrimSpace(buf.String()); got != "error job failed worker=w1 error=boom job-id=7" {
		t.Errorf("got %q", got)
	}
}

func TestSlogLogger(t *testing.T) {
	var buf bytes.Buffer
	l := NewSlogLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))).With(F("a", 1))
	l.Debug("hello", F("b", "x"))
	if got := buf.String(); !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, "msg=hello a=1 b=x") {
		t.Errorf("got %q", got)
	}
}

func TestNoOpLogger(t *testing.T) {
	var l Logger = NoOpLogger{}
	l.With(F("a", 1)).Info("discarded")
}

// The slog Logger tells whether it writes Debug messages, by its handler's
// level; NoOpLogger never does.
func TestDebugEnabled(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range []struct {
		level slog.Level
		want  bool
	}{{slog.LevelDebug, true}, {slog.LevelInfo, false}} {
		l := NewSlogLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: c.level}))).With(F("a", 1))
		d, ok := l.(DebugEnabler)
		if !ok || d.DebugEnabled() != c.want {
			t.Errorf("slog at %v: DebugEnabler %v, DebugEnabled %v, want %v", c.level, ok, ok && d.DebugEnabled(), c.want)
		}
	}
	if d, ok := Logger(NoOpLogger{}).(DebugEnabler); !ok || d.DebugEnabled() {
		t.Errorf("NoOpLogger: DebugEnabler %v, want one that is not enabled", ok)
	}
}
