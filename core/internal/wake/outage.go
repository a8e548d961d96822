package wake

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// Outage tracks failing lock queries of one Client's workers, so that a
// database that is down (or a schema that was never migrated) is reported
// once, with its cause, when the first worker fails, and once more when a
// worker gets through again; the failures in between are logged at Debug
// level. Without it, every worker of every pool logs every poll.
type Outage struct {
	down     atomic.Bool // read on every lock, so the usual case takes no mutex
	mu       sync.Mutex
	since    time.Time // zero while the database answers
	failures int
}

// Failed records a lock query that failed with err.
func (o *Outage) Failed(log adapter.Logger, err error) {
	o.mu.Lock()
	first := o.since.IsZero()
	if first {
		o.since = time.Now()
		o.down.Store(true)
	}
	o.failures++
	o.mu.Unlock()
	if first {
		log.Error("could not lock a job; workers keep retrying and report here when it works again", adapter.Err(err))
		return
	}
	log.Debug("could not lock a job", adapter.Err(err))
}

// Succeeded records a lock query that worked (found a job or not).
func (o *Outage) Succeeded(log adapter.Logger) {
	if !o.down.Load() {
		return
	}
	o.mu.Lock()
	if o.since.IsZero() {
		o.mu.Unlock()
		return
	}
	since, failures := o.since, o.failures
	o.since, o.failures = time.Time{}, 0
	o.down.Store(false)
	o.mu.Unlock()
	log.Info("locking jobs works again", adapter.F("Outage", time.Since(since).Round(time.Millisecond)), adapter.F("failed-attempts", failures))
}
