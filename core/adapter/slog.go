package adapter

import (
	"context"
	"log/slog"
)

// slogLogger forwards to a log/slog Logger.
type slogLogger struct{ l *slog.Logger }

// NewSlogLogger returns a Logger writing through l, or through slog.Default()
// when l is nil. Fields become slog attributes with the same keys.
func NewSlogLogger(l *slog.Logger) Logger {
	if l == nil {
		l = slog.Default()
	}
	return slogLogger{l: l}
}

func (s slogLogger) Debug(msg string, fields ...Field) { s.log(slog.LevelDebug, msg, fields) }
func (s slogLogger) Info(msg string, fields ...Field)  { s.log(slog.LevelInfo, msg, fields) }
func (s slogLogger) Error(msg string, fields ...Field) { s.log(slog.LevelError, msg, fields) }

func (s slogLogger) With(fields ...Field) Logger {
	return slogLogger{l: s.l.With(attrs(fields)...)}
}

func (s slogLogger) log(level slog.Level, msg string, fields []Field) {
	s.l.Log(context.Background(), level, msg, attrs(fields)...)
}

func attrs(fields []Field) []any {
	out := make([]any, len(fields))
	for i, f := range fields {
		out[i] = slog.Any(f.Key, f.Value)
	}
	return out
}
