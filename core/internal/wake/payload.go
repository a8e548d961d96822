package wake

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Channel is the channel enqueues NOTIFY and pools LISTEN on. The
// payload names the schema and queue (Payload), so one channel serves
// every schema; a mismatch costs a spurious wake-up, never a lost job.
const Channel = "gue_jobs"

// Ahead is how far in the future a job's RunAt may be for its enqueue
// to NOTIFY: clients' clocks run a little ahead of the server's, and a woken
// worker that finds nothing ready looks again within Ahead (instead
// of a whole poll interval later). It must match the interval in the
// enqueue statement.
const Ahead = time.Second

// DueWithin is how soon a job must be due for its enqueue to NOTIFY
// its run_at (DueSuffix), so that listening pools arm their due timers
// for it; a job due later is found by the pools' look-ahead after a poll
// (the pools' look-ahead), which in a pool of a few queues runs more often than
// this, and otherwise by the lanes' probe or a poll.
const DueWithin = "10 seconds"

// Payload is the payload announcing a ready job in schema's queue.
// PostgreSQL's limit is 8000 bytes; a longer one is cut at a character
// boundary (PostgreSQL rejects a cut UTF-8 sequence), which at worst wakes
// the pool of another long queue name with the same first 7,999 bytes.
func Payload(schema, queue string) string {
	p := schema + "\x1f" + queue
	if len(p) > 7999 {
		cut := 7999
		for cut > 0 && !utf8.RuneStart(p[cut]) {
			cut--
		}
		p = p[:cut]
	}
	return p
}

// DueSuffix marks a NOTIFY payload that announces a job due soon, not now:
// the queue's payload, then this, then the run_at in Unix microseconds.
const DueSuffix = "\x1fdue\x1f"

// ParseDue splits a due-soon payload into the queue's payload and the
// run_at it announces.
func ParseDue(got string) (payload string, runAt time.Time, ok bool) {
	i := strings.LastIndex(got, DueSuffix)
	if i < 0 {
		return "", time.Time{}, false
	}
	us, err := strconv.ParseInt(got[i+len(DueSuffix):], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return got[:i], time.UnixMicro(us), true
}

// CancelPayload is the payload that asks the listening pools of schema's
// queue to look for cancellations now. Cut to PostgreSQL's limit like any
// payload: for a queue name that long it wakes the pool instead, and its
// next look for cancellations finds the request.
func CancelPayload(schema, queue string) string {
	return Payload(schema, queue+"\x1fcancel")
}

// EnqueuedPayload is the announcement for a job of schema's queue that the
// enqueue statement classed as kind (its kind column: 1 ready, 2 due
// soon), "" for none.
func EnqueuedPayload(schema, queue string, kind int64, runAt time.Time) string {
	switch p := Payload(schema, queue); {
	case kind == 1:
		return p
	case kind == 2 && len(p) < 7950:
		return p + DueSuffix + strconv.FormatInt(runAt.UnixMicro(), 10)
	}
	return ""
}
