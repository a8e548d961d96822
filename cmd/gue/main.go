// Command gue is the operator's side of a gue-go queue: migrate the schema,
// look at queues, jobs and pools, enqueue, retry, cancel, delete, pause and
// resume, check a database's setup (doctor) and measure it (bench).
//
// Connection: --database-url or DATABASE_URL (a PostgreSQL URL or key=value
// string, as pgx reads it); --schema (default public).
//
// Exit codes:
//
//	0  success
//	1  failure: the database cannot be reached, a job or queue is unknown, bad input
//	2  usage: unknown command or flag, missing or bad argument
//	3  attention: `migrate status` with migrations pending, `doctor` with a failed check
//	4  refused: an action on many jobs without --yes (the count is printed)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes (see the package documentation).
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitAttention = 3
	exitRefused   = 4
)

// exitError carries an exit code other than 1 out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks bad flags or arguments.
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit code; errors are
// printed as one line on stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, out: stdout, errOut: stderr}
	defer a.close()
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	code := exitFailure
	if errors.As(err, &ee) {
		code = ee.code
	} else if isUsage(err) {
		code = exitUsage
	}
	// Core's errors already start with "gue: "; job data in a message is
	// escaped like everything else printed.
	if msg := strings.TrimPrefix(err.Error(), "gue: "); msg != "" {
		fmt.Fprintln(stderr, "gue: "+block(msg))
	}
	return code
}
