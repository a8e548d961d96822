package adapter

import (
	"fmt"
	"log"
	"strings"
)

// KeyError is the field key Err uses.
const KeyError = "error"

// Field is one key/value pair of structured log context.
type Field struct {
	Key   string
	Value any
}

// F builds a Field.
func F(key string, value any) Field { return Field{Key: key, Value: value} }

// Err builds the Field that carries an error, under KeyError.
func Err(err error) Field { return F(KeyError, err) }

// Logger is the structured logging port of the engine. Implementations must be
// safe for concurrent use.
type Logger interface {
	// Debug logs a message useful when tracing the engine's decisions.
	Debug(msg string, fields ...Field)
	// Info logs a message about normal operation.
	Info(msg string, fields ...Field)
	// Error logs a failure the engine handled but an operator should see.
	Error(msg string, fields ...Field)
	// With returns a Logger that adds fields to every message.
	With(fields ...Field) Logger
}

// DebugEnabler is a Logger that can tell whether it writes Debug messages.
// Optional: the engine asks it before it builds the fields of a message it
// sends at Debug for every job, and builds them for a Logger without it.
type DebugEnabler interface {
	DebugEnabled() bool
}

// NoOpLogger discards every message: pass it to WithClientLogger (or a
// worker or pool option) to silence the engine. The default is DefaultLogger.
type NoOpLogger struct{}

// Debug discards the message.
func (NoOpLogger) Debug(string, ...Field) {}

// Info discards the message.
func (NoOpLogger) Info(string, ...Field) {}

// Error discards the message.
func (NoOpLogger) Error(string, ...Field) {}

// DebugEnabled is false: nothing is written.
func (NoOpLogger) DebugEnabled() bool { return false }

// With returns the NoOpLogger itself.
func (l NoOpLogger) With(...Field) Logger { return l }

// stdLogger writes "level msg key=value ..." lines to a standard library logger.
type stdLogger struct {
	l      *log.Logger
	fields []Field
}

// NewStdLogger returns a Logger writing through the standard library's log
// package: through l[0] when given, otherwise through log.Default().
func NewStdLogger(l ...*log.Logger) Logger {
	if len(l) > 0 && l[0] != nil {
		return &stdLogger{l: l[0]}
	}
	return &stdLogger{l: log.Default()}
}

func (s *stdLogger) Debug(msg string, fields ...Field) { s.write("debug", msg, fields) }
func (s *stdLogger) Info(msg string, fields ...Field)  { s.write("info", msg, fields) }
func (s *stdLogger) Error(msg string, fields ...Field) { s.write("error", msg, fields) }

func (s *stdLogger) With(fields ...Field) Logger {
	merged := make([]Field, 0, len(s.fields)+len(fields))
	merged = append(append(merged, s.fields...), fields...)
	return &stdLogger{l: s.l, fields: merged}
}

func (s *stdLogger) write(level, msg string, fields []Field) {
	var b strings.Builder
	b.WriteString(level)
	b.WriteByte(' ')
	b.WriteString(msg)
	for _, group := range [][]Field{s.fields, fields} {
		for _, f := range group {
			fmt.Fprintf(&b, " %s=%v", f.Key, f.Value)
		}
	}
	s.l.Print(b.String())
}
