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
