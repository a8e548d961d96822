package adapter

import (
	"context"
	"log/slog"
)

// slogLogger forwards to a log/slog Logger: l when set, otherwise whatever
// slog.Default() is at the time of each message, so that a program calling
// slog.SetDefault after building its Client is still obeyed.
type slogLogger struct {
	l     *slog.Logger
	attrs []any
}

// NewSlogLogger returns a Logger writing through l, or through slog.Default()
// when l is nil (looked up at each message). Fields become slog attributes
// with the same keys.
func NewSlogLogger(l *slog.Logger) Logger {
	return slogLogger{l: l}
}

// DefaultLogger returns the engine's default Logger: log/slog's default
// logger (slog.Default(), looked up at each message), so that gue's messages
// are visible unless the program chooses otherwise. Use NoOpLogger{} to
// silence them, or a slog.Logger with a higher level to keep only errors.
func DefaultLogger() Logger { return slogLogger{} }

func (s slogLogger) Debug(msg string, fields ...Field) { s.log(slog.LevelDebug, msg, fields) }
func (s slogLogger) Info(msg string, fields ...Field)  { s.log(slog.LevelInfo, msg, fields) }
func (s slogLogger) Error(msg string, fields ...Field) { s.log(slog.LevelError, msg, fields) }

// DebugEnabled reports whether the slog Logger (slog.Default() when none
// was given, as it is now) is enabled at slog.LevelDebug.
func (s slogLogger) DebugEnabled() bool {
	l := s.l
	if l == nil {
		l = slog.Default()
	}
	return l.Enabled(context.Background(), slog.LevelDebug)
}

func (s slogLogger) With(fields ...Field) Logger {
	if s.l != nil {
		return slogLogger{l: s.l.With(attrs(fields)...)}
	}
	merged := make([]any, 0, len(s.attrs)+len(fields))
	return slogLogger{attrs: append(append(merged, s.attrs...), attrs(fields)...)}
}

func (s slogLogger) log(level slog.Level, msg string, fields []Field) {
	l := s.l
	if l == nil {
		l = slog.Default()
	}
	ctx := context.Background()
	if !l.Enabled(ctx, level) {
		return
	}
	args := attrs(fields)
	if len(s.attrs) > 0 {
		args = append(append(make([]any, 0, len(s.attrs)+len(args)), s.attrs...), args...)
	}
	l.Log(ctx, level, msg, args...)
}

func attrs(fields []Field) []any {
	out := make([]any, len(fields))
	for i, f := range fields {
		out[i] = slog.Any(f.Key, f.Value)
	}
	return out
}
