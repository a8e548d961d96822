package gue

import (
	"math"
	"math/rand/v2"
	"time"
)

// Backoff computes how long a failed job waits before its next run. retries
// is the job's error count including the failure being recorded (1 after the
// first failure). A negative result is treated as 0 (run again at once).
type Backoff func(retries int) time.Duration

// DefaultExponentialBackoff is the Client's default Backoff: 1s·1.6^retries
// with ±20% random jitter, capped at one hour (about 1.6s, 2.6s, 4.1s, 6.6s,
// ..., reaching the cap after 18 failures). Jitter spreads the retries of jobs
// that failed together, such as after an outage of a shared dependency.
var DefaultExponentialBackoff Backoff = ExponentialBackoff(time.Second, 1.6, time.Hour, 0.2)

// ExponentialBackoff returns a Backoff of initial·factor^retries, capped at
// maxDelay, multiplied by a random factor in [1-jitter, 1+jitter]. jitter is
// clamped to [0, 1]; the cap applies after the jitter.
func ExponentialBackoff(initial time.Duration, factor float64, maxDelay time.Duration, jitter float64) Backoff {
	jitter = math.Min(math.Max(jitter, 0), 1)
	return func(retries int) time.Duration {
		if retries < 0 {
			retries = 0
		}
		d := float64(initial) * math.Pow(factor, float64(retries))
		if jitter > 0 {
			d *= 1 + jitter*(2*rand.Float64()-1)
		}
		if d > float64(maxDelay) || math.IsInf(d, 0) || math.IsNaN(d) {
			return maxDelay
		}
		return time.Duration(d)
	}
}

// ConstantBackoff returns a Backoff that always waits d.
func ConstantBackoff(d time.Duration) Backoff {
	return func(int) time.Duration { return d }
}
