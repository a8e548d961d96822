package gue

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gue-go/gue/core/adapter"
)

// notifyChannel is the channel enqueues NOTIFY and pools LISTEN on. The
// payload names the schema and queue (notifyPayload), so one channel serves
// every schema; a mismatch costs a spurious wake-up, never a lost job.
const notifyChannel = "gue_jobs"

// notifyAhead is how far in the future a job's RunAt may be for its enqueue
// to NOTIFY: clients' clocks run a little ahead of the server's, and a woken
// worker that finds nothing ready looks again within notifyAhead (instead
// of a whole poll interval later). It must match the interval in the
// enqueue statement.
const notifyAhead = time.Second

// dueNotifyWithin is how soon a job must be due for its enqueue to NOTIFY
// its run_at (dueSuffix), so that listening pools arm their due timers
// for it; a job due later is found by the pools' look-ahead after a poll
// (Worker.lookAhead), which in a pool of a few queues runs more often than
// this, and otherwise by the lanes' probe or a poll.
const dueNotifyWithin = "10 seconds"

// notifyPayload is the payload announcing a ready job in schema's queue.
// PostgreSQL's limit is 8000 bytes; a longer one is cut at a character
// boundary (PostgreSQL rejects a cut UTF-8 sequence), which at worst wakes
// the pool of another long queue name with the same first 7,999 bytes.
func notifyPayload(schema, queue string) string {
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

// wakeup hands a wake-up token to one idle worker. Waking one worker per
// notification, instead of all of them, spares the database a herd of
// lockers racing for one job; a woken worker that finds a job passes the
// token on, so a burst of jobs still wakes the whole pool.
type wakeup struct{ c chan struct{} }

func newWakeup() *wakeup { return &wakeup{c: make(chan struct{}, 1)} }

// C returns the channel idle workers receive the token from.
func (w *wakeup) C() <-chan struct{} { return w.c }

// Fire leaves a token for the next idle worker, unless one is waiting.
func (w *wakeup) Fire() {
	select {
	case w.c <- struct{}{}:
	default:
	}
}

// listen keeps a LISTEN connection while ctx lives and fires wake for every
// notification of a ready job in one of schema's queues, and kick for every
// cancellation there. A lost connection is retried every second; the
// workers poll meanwhile.
func listen(ctx context.Context, l adapter.Listener, schema string, lanes []*lane, wake *wakeup, due *dueTimer, kick chan<- struct{}, log adapter.Logger) {
	ready, cancelled := make(map[string]*lane, len(lanes)), make(map[string]bool, len(lanes))
	for _, l := range lanes {
		ready[notifyPayload(schema, l.queue)], cancelled[cancelPayload(schema, l.queue)] = l, true
	}
	for ctx.Err() == nil {
		conn, err := l.Listen(ctx, notifyChannel)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("could not LISTEN; polling until it can", adapter.Err(err))
			}
		} else {
			wakeLanes(lanes)
			wake.Fire() // jobs may have arrived while not listening
			for {
				got, err := conn.WaitForNotification(ctx)
				if err != nil {
					if ctx.Err() == nil {
						log.Error("LISTEN connection lost; polling until it is back", adapter.Err(err))
					}
					break
				}
				switch {
				case cancelled[got]:
					select {
					case kick <- struct{}{}:
					default: // a look is due already
					}
				case ready[got] != nil:
					ready[got].wake()
					wake.Fire()
				case !strings.Contains(got, "\x1f"):
					wakeLanes(lanes)
					wake.Fire()
				default:
					if t, ok := parseDue(got, ready); ok {
						due.at(t)
					}
				}
			}
			_ = conn.Close(context.WithoutCancel(ctx))
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
