package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	gue "github.com/gue-go/gue/core"
	"github.com/spf13/cobra"
)

// ndjsonJob is one line of `gue enqueue --stdin`.
type ndjsonJob struct {
	Type        string            `json:"type"`
	Queue       string            `json:"queue"`
	Args        json.RawMessage   `json:"args"`
	Priority    int16             `json:"priority"`
	RunAt       *time.Time        `json:"run_at"`
	UniqueKey   string            `json:"unique_key"`
	Metadata    map[string]string `json:"metadata"`
	MaxAttempts int32             `json:"max_attempts"`
}

func (n ndjsonJob) job() *gue.Job {
	j := &gue.Job{Type: n.Type, Queue: n.Queue, Args: []byte(n.Args), Priority: n.Priority, UniqueKey: n.UniqueKey,
		Metadata: n.Metadata, MaxAttempts: n.MaxAttempts}
	if n.RunAt != nil {
		j.RunAt = *n.RunAt
	}
	return j
}

func (a *app) enqueueCommand() *cobra.Command {
	var one ndjsonJob
	var args, runAt string
	var in time.Duration
	var metadata []string
	var stdin bool
	var chunk int
	c := &cobra.Command{
		Use:   "enqueue",
		Short: "Enqueue one job from flags, or many from NDJSON on stdin (one JSON object per line)",
		Long: `Enqueue one job from flags, or, with --stdin, one job per line of NDJSON on
standard input, written through EnqueueBatch in chunks of --chunk lines. A line
is an object with "type" (required), and optionally "queue", "args" (any JSON),
"priority", "run_at" (RFC 3339), "unique_key", "metadata" (object of strings),
"max_attempts". A malformed line (not one such object, not valid UTF-8, or
longer than 16 MiB) is reported with its line number and nothing of its chunk
is written; the other chunks are, and each chunk not written is named by its
line range. A progress bar shows on a terminal, and a summary line at the
end; the exit code is 1 if any line was not written.`,
		Example: `  gue enqueue --type SendEmail --queue emails --args '{"to":"ann@example.com"}'
  gue enqueue --type Report --in 10m --unique-key report-2026-11
  printf '{"type":"Resize","args":{"id":1}}\n{"type":"Resize","args":{"id":2}}\n' | gue enqueue --stdin`,
		Args: exactArgs(0, "no argument (jobs come from flags or --stdin)"),
		RunE: func(c *cobra.Command, _ []string) error {
			if stdin == (one.Type != "") {
				return usageError("give --type for one job, or --stdin for NDJSON (not both)")
			}
			if stdin {
				if chunk < 1 || chunk > 10000 {
					return usageError("--chunk must be between 1 and 10000")
				}
				if err := a.connect(c.Context()); err != nil {
					return err
				}
				return a.enqueueNDJSON(c, chunk)
			}
			j := one.job()
			if args != "" {
				j.Args = []byte(args)
			}
			if runAt != "" && in != 0 {
				return usageError("give --run-at or --in, not both")
			}
			if runAt != "" {
				t, err := time.Parse(time.RFC3339, runAt)
				if err != nil {
					return usageError("--run-at: want RFC 3339 (2026-11-25T10:00:00Z), got %q", runAt)
				}
				j.RunAt = t
			}
			if in != 0 {
				j.RunAt = time.Now().Add(in)
			}
			for _, kv := range metadata {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return usageError("--metadata: want key=value, got %q", kv)
				}
				if j.Metadata == nil {
					j.Metadata = map[string]string{}
				}
				j.Metadata[k] = v
			}
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			if err := a.client.Enqueue(c.Context(), j); err != nil {
				return cmdErr(err)
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"id": j.ID, "queue": j.Queue, "run_at": j.RunAt})
			}
			fmt.Fprintf(a.out, "enqueued job %d (queue %s, type %s, run at %s)\n", j.ID, displayQueue(j.Queue), cell(j.Type), j.RunAt.Local().Format(time.RFC3339))
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&one.Type, "type", "", "job type (required for one job)")
	f.StringVar(&one.Queue, "queue", "", "queue")
	f.StringVar(&args, "args", "", "job args, JSON (default [])")
	f.Int16Var(&one.Priority, "priority", 0, "priority: lower runs first")
	f.StringVar(&runAt, "run-at", "", "run at this time (RFC 3339)")
	f.DurationVar(&in, "in", 0, "run after this long (e.g. 10m)")
	f.StringVar(&one.UniqueKey, "unique-key", "", "at most one live job per queue with this key")
	f.StringArrayVar(&metadata, "metadata", nil, "metadata key=value (repeatable)")
	f.Int32Var(&one.MaxAttempts, "max-attempts", 0, "failed runs before the job goes to the dead jobs (0: the client's)")
	f.BoolVar(&stdin, "stdin", false, "read NDJSON jobs from standard input")
	f.IntVar(&chunk, "chunk", 1000, "jobs per EnqueueBatch with --stdin")
	a.jsonFlag(c)
	return c
}

// enqueueNDJSON enqueues stdin's lines in chunks.
func (a *app) enqueueNDJSON(c *cobra.Command, chunk int) error {
	rd := lineReader{r: bufio.NewReaderSize(a.stdin, 64<<10), max: maxLine}
	bar := newProgress(a.errOut, "enqueue", 0)
	start := time.Now()
	var (
		line, enqueued, notWritten int
		jobs                       []*gue.Job
		firstLine                  int
		bad                        []string
	)
	flush := func() {
		defer func() { jobs, bad, firstLine = jobs[:0], nil, 0 }()
		if len(bad) > 0 {
			for _, b := range bad {
				fmt.Fprintln(a.errOut, block(b))
			}
			fmt.Fprintf(a.errOut, "%s not written (their chunk had a malformed line)\n", lineRange(firstLine, line))
			notWritten += len(jobs) + len(bad)
			return
		}
		if len(jobs) == 0 {
			return
		}
		if err := a.client.EnqueueBatch(c.Context(), jobs); err != nil {
			fmt.Fprintf(a.errOut, "%s not written: %v\n", lineRange(firstLine, line), cmdErr(err))
			notWritten += len(jobs)
			return
		}
		enqueued += len(jobs)
		bar.add(int64(len(jobs)))
	}
	var readErr error
	for {
		text, tooLong, err := rd.next()
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
		line++
		raw := bytes.TrimSpace(text)
		if len(raw) == 0 && !tooLong {
			continue
		}
		if firstLine == 0 {
			firstLine = line
		}
		var n ndjsonJob
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		switch err := dec.Decode(&n); {
		case tooLong:
			bad = append(bad, fmt.Sprintf("line %d: longer than %d MiB", line, maxLine>>20))
		case !utf8.Valid(raw):
			// encoding/json would quietly turn each bad byte into U+FFFD.
			bad = append(bad, fmt.Sprintf("line %d: not valid UTF-8 (at byte %d)", line, invalidAt(raw)+1))
		case err != nil:
			bad = append(bad, fmt.Sprintf("line %d: not a job object: %v", line, err))
		case dec.More():
			bad = append(bad, fmt.Sprintf("line %d: more than one JSON value", line))
		case n.Type == "":
			bad = append(bad, fmt.Sprintf("line %d: \"type\" is missing", line))
		default:
			jobs = append(jobs, n.job())
		}
		if len(jobs)+len(bad) >= chunk {
			flush()
		}
		if c.Context().Err() != nil {
			break
		}
	}
	if readErr != nil {
		// The lines read so far are whole: they are written or refused as
		// usual, so the report below names every line that was not written.
		flush()
		bar.done()
		return fmt.Errorf("reading stdin after line %d: %v (enqueued %d job(s) from lines 1–%d; the rest was not read)", line, readErr, enqueued, line)
	}
	flush()
	bar.done()
	elapsed := time.Since(start)
	summary := fmt.Sprintf("enqueued %d job(s) in %s (%.0f jobs/s)", enqueued, elapsed.Round(time.Millisecond), float64(enqueued)/max(elapsed.Seconds(), 1e-3))
	if a.jsonOut {
		if err := a.printJSON(map[string]any{"enqueued": enqueued, "not_written": notWritten, "seconds": elapsed.Seconds()}); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(a.out, summary)
	}
	if notWritten > 0 {
		return fmt.Errorf("%d line(s) not written (see above)", notWritten)
	}
	return nil
}

// maxLine is the longest NDJSON line enqueue --stdin accepts.
const maxLine = 16 << 20

// lineReader reads newline-terminated lines of at most max bytes. A longer
// line is read to its end and dropped, and reported as too long, so that the
// lines after it are still read (a bufio.Scanner stops for good there).
type lineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// next returns the next line without its line break, or io.EOF after the
// last one.
func (l *lineReader) next() (line []byte, tooLong bool, err error) {
	l.buf = l.buf[:0]
	for {
		frag, err := l.r.ReadSlice('\n')
		if !tooLong {
			if len(l.buf)+len(frag) > l.max+1 { // +1: the newline itself
				tooLong, l.buf = true, l.buf[:0]
			} else {
				l.buf = append(l.buf, frag...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && (len(l.buf) > 0 || tooLong):
			return l.buf, tooLong, nil // a last line without a line break
		case err != nil:
			return nil, false, err
		}
		return bytes.TrimSuffix(l.buf, []byte("\n")), tooLong, nil
	}
}

// invalidAt returns the offset of the first byte of b that is not valid
// UTF-8.
func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// lineRange names lines first to last: "line 3" or "lines 3–4".
func lineRange(first, last int) string {
	if first == last {
		return fmt.Sprintf("line %d", first)
	}
	return fmt.Sprintf("lines %d–%d", first, last)
}
