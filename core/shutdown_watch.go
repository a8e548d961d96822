package gue

import (
	"context"
	"time"
)

// watchShutdown cancels every job in flight of a WorkerPool's run with
// ErrWorkerStopped, all at once, when the grace period has passed after ctx
// is done (at once for grace 0, never for a negative grace) or at a hard
// stop; a job that starts after that is cancelled as it starts (see
// inFlight.add). The returned func stops the watch: call it once no job
// runs. Before, each job had watchers of its own (stopOnShutdown): two
// registrations on contexts every job shares and about a dozen
// allocations per job, a quarter of session mode's allocations in the
// bench. A lone Worker keeps them, since its WorkOne may run beside Run.
func (r *runner) watchShutdown(ctx context.Context) (stop func()) {
	r.inflight.reopen()
	hard := context.Background()
	if len(r.slots) > 0 {
		hard = r.slots[0].hardStopped() // hardStop cancels every slot's at once
	}
	finished := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
		case <-hard.Done():
			r.inflight.stopAll(ErrWorkerStopped)
			return
		case <-finished:
			return
		}
		var after <-chan time.Time
		switch {
		case r.grace == 0:
			r.inflight.stopAll(ErrWorkerStopped)
			return
		case r.grace > 0:
			t := time.NewTimer(r.grace)
			defer t.Stop()
			after = t.C
		}
		select {
		case <-after:
		case <-hard.Done():
		case <-finished:
			return
		}
		r.inflight.stopAll(ErrWorkerStopped)
	}()
	return func() {
		close(finished)
		<-done
	}
}
