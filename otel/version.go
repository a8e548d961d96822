package gueotel

// ScopeName is the instrumentation scope name of the tracer and meter: the
// module path.
const ScopeName = "github.com/gue-go/gue/otel"

// Version returns the version of this instrumentation.
func Version() string { return "0.1.0" }
