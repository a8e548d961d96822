package gue

import "time"

// goroutines runs funcs on goroutines that wait for more work for a while
// after each, instead of on a new goroutine each: a batch starts one func
// per job, and a new goroutine's stack grows again for every job (the bench
// measured stack growth and goroutine creation at over a quarter of batch
// mode's CPU in Go with no-op jobs).
type goroutines struct {
	// work is unbuffered: a send succeeds only when an idle goroutine
	// takes it.
	work chan func()
}

// goroutineIdle is how long a goroutine waits for more work before it ends.
const goroutineIdle = 10 * time.Second

func newGoroutines() *goroutines { return &goroutines{work: make(chan func())} }

// run runs f on an idle goroutine, or on a new one when none is idle.
func (g *goroutines) run(f func()) {
	select {
	case g.work <- f:
	default:
		go g.serve(f)
	}
}

func (g *goroutines) serve(f func()) {
	timer := time.NewTimer(goroutineIdle)
	defer timer.Stop()
	for {
		f()
		f = nil // not kept alive while idle
		timer.Reset(goroutineIdle)
		select {
		case f = <-g.work:
		case <-timer.C:
			return
		}
	}
}
