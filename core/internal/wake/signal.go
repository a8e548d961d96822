package wake

// Signal hands a wake-up token to one idle worker. Waking one worker per
// notification, instead of all of them, spares the database a herd of
// lockers racing for one job; a woken worker that finds a job passes the
// token on, so a burst of jobs still wakes the whole pool.
type Signal struct{ c chan struct{} }

// NewSignal returns a Signal with no token.
func NewSignal() *Signal { return &Signal{c: make(chan struct{}, 1)} }

// C returns the channel idle workers receive the token from.
func (w *Signal) C() <-chan struct{} { return w.c }

// Fire leaves a token for the next idle worker, unless one is waiting.
func (w *Signal) Fire() {
	select {
	case w.c <- struct{}{}:
	default:
	}
}
