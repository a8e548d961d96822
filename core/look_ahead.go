package gue

import "sync/atomic"

// aheadPace is a Worker's or WorkerPool's pace of look-aheads, shared by
// its workers.
type aheadPace struct {
	last atomic.Int64  // UnixNano of the last look-ahead
	turn atomic.Uint64 // the lane looked at next, modulo the lanes
}
