package gue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// QueueStats are the counts of one queue (Client.Stats).
type QueueStats struct {
	Queue string `json:"queue"`
	// Ready jobs wait for a worker (RunAt passed, not running).
	Ready int64 `json:"ready"`
	// Scheduled jobs have a future RunAt and never failed.
	Scheduled int64 `json:"scheduled"`
	// Retrying jobs failed at least once and wait for their next run.
	Retrying int64 `json:"retrying"`
	// Dead jobs will not run again (gue_jobs_dead).
	Dead int64 `json:"dead"`
	// Running jobs are held by registered pools (WithPoolRegistry).
	Running int64 `json:"running"`
	// Paused is whether PauseQueue paused the queue.
	Paused bool `json:"paused"`
	// OldestReadyAge is how long the oldest job whose RunAt passed has
	// waited (running ones included); 0 when none.
	OldestReadyAge time.Duration `json:"-"`
	// OldestReadySeconds is OldestReadyAge in seconds, for JSON.
	OldestReadySeconds float64 `json:"oldest_ready_seconds"`
	// WorkedLastMinute and FailedLastMinute are the runs registered pools
	// finished in the last full minute (counted per minute, written every
	// few seconds: a run at a minute's very end may count in the next).
	WorkedLastMinute int64 `json:"worked_last_minute"`
	FailedLastMinute int64 `json:"failed_last_minute"`
	// Capped is whether a count reached StatsOptions.Cap: it means "at
	// least".
	Capped bool `json:"capped,omitempty"`
}

// StatsOptions select and bound Client.Stats.
type StatsOptions struct {
	// Queues limits the stats to these queues; nil: every queue that has
	// jobs, dead jobs, a pause or a registered pool.
	Queues []string
	// Cap bounds each count (a dashboard on a big table stays fast: a
	// count at Cap means at least Cap); 0 counts exactly.
	Cap int64
	// OneStatement asks for every queue's counts in one statement (Queues
	// nil, not on Citus): one round trip instead of one per queue, which
	// suits many small queues; with big ones it is slower (measured with
	// 1,000,000 jobs in 4 queues: 560 ms against about 100 ms).
	OneStatement bool
}

// Queues returns the queues that have jobs, dead jobs, a pause or a
// registered pool, by name. It finds them by skipping through the indexes
// (one probe per queue), not by reading every job.
func (c *Client) Queues(ctx context.Context) ([]string, error) {
	if c.err != nil {
		return nil, c.err
	}
	rows, err := c.pool.Query(ctx, c.stmts.on(ctx, c.pool).QueueList)
	if err != nil {
		return nil, fmt.Errorf("gue: list queues: %w", notMigrated(c.schema, err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			return nil, fmt.Errorf("gue: list queues: %w", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gue: list queues: %w", err)
	}
	return out, nil
}

// Stats returns the counts of each queue o selects, by queue name, without
// locking anything: one statement listing the queues (when o.Queues is
// nil), then one per queue; or, with o.OneStatement, all in one.
func (c *Client) Stats(ctx context.Context, o StatsOptions) ([]QueueStats, error) {
	if c.err != nil {
		return nil, c.err
	}
	if err := checkText("stats", o.Queues...); err != nil {
		return nil, err
	}
	var limit any // NULL: LIMIT ALL
	if o.Cap > 0 {
		limit = o.Cap
	}
	stmts := c.stmts.on(ctx, c.pool)
	if o.Queues == nil && (stmts.QueueStatsAll == "" || !o.OneStatement) {
		// List the queues, then one statement per queue: on a big table
		// each of those plans its index scans for its queue, which the
		// single statement (a lateral join on the queue list) does not,
		// and Citus cannot run that join at all.
		qs, err := c.Queues(ctx)
		if err != nil {
			return nil, err
		}
		o.Queues = qs
	}
	if o.Queues == nil {
		rows, err := c.pool.Query(ctx, stmts.QueueStatsAll, limit)
		if err != nil {
			return nil, fmt.Errorf("gue: stats: %w", notMigrated(c.schema, err))
		}
		defer rows.Close()
		out := []QueueStats{}
		for rows.Next() {
			var q string
			s, err := scanStats(rows, o.Cap, &q)
			if err != nil {
				return nil, fmt.Errorf("gue: stats: %w", err)
			}
			s.Queue = q
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("gue: stats: %w", err)
		}
		return out, nil
	}
	out := make([]QueueStats, 0, len(o.Queues))
	for _, q := range o.Queues {
		s, err := scanStats(c.pool.QueryRow(ctx, stmts.QueueStats, q, limit), o.Cap)
		if err != nil {
			return nil, fmt.Errorf("gue: stats of queue %q: %w", q, notMigrated(c.schema, err))
		}
		s.Queue = q
		out = append(out, s)
	}
	return out, nil
}

// scanStats reads a row of queueStats (after the columns in first).
func scanStats(row interface{ Scan(...any) error }, limit int64, first ...any) (QueueStats, error) {
	var s QueueStats
	var oldest sql.NullFloat64
	var readyOrRunning int64
	dest := append(first, &readyOrRunning, &s.Scheduled, &s.Retrying, &s.Dead, &s.Running, &s.Paused, &oldest, &s.WorkedLastMinute, &s.FailedLastMinute)
	if err := row.Scan(dest...); err != nil {
		return s, err
	}
	s.Ready = max(0, readyOrRunning-s.Running)
	if oldest.Valid {
		s.OldestReadySeconds = oldest.Float64
		s.OldestReadyAge = time.Duration(oldest.Float64 * float64(time.Second))
	}
	if limit > 0 {
		s.Capped = readyOrRunning >= limit || s.Scheduled >= limit || s.Retrying >= limit || s.Dead >= limit
	}
	return s, nil
}

// PoolInfo is a registered, running WorkerPool (see WithPoolRegistry).
type PoolInfo struct {
	ID          string    `json:"id"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	Queues      []string  `json:"queues"`
	Workers     int       `json:"workers"`
	StartedAt   time.Time `json:"started_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
	// InFlight is the jobs it ran at its last heartbeat.
	InFlight []JobRef `json:"in_flight"`
	// Worked and Failed count its finished runs since it started.
	Worked int64 `json:"worked"`
	Failed int64 `json:"failed"`
}

// Pools returns the registered pools whose last heartbeat is within
// PoolExpiry, oldest first.
func (c *Client) Pools(ctx context.Context) ([]PoolInfo, error) {
	if c.err != nil {
		return nil, c.err
	}
	rows, err := c.pool.Query(ctx, c.stmts.PoolList)
	if err != nil {
		return nil, fmt.Errorf("gue: list pools: %w", notMigrated(c.schema, err))
	}
	defer rows.Close()
	var out []PoolInfo
	for rows.Next() {
		var p PoolInfo
		var queues, ids, idQueues string
		if err := rows.Scan(&p.ID, &p.Host, &p.PID, &queues, &p.Workers, &p.StartedAt, &p.HeartbeatAt, &ids, &idQueues, &p.Worked, &p.Failed); err != nil {
			return nil, fmt.Errorf("gue: list pools: %w", err)
		}
		var idList []int64
		var qList []string
		if err := errors.Join(json.Unmarshal([]byte(queues), &p.Queues), json.Unmarshal([]byte(ids), &idList),
			json.Unmarshal([]byte(idQueues), &qList)); err != nil || len(idList) != len(qList) {
			return nil, fmt.Errorf("gue: list pools: pool %s: bad registry row: %v", p.ID, err)
		}
		p.InFlight = make([]JobRef, len(idList))
		for i := range idList {
			p.InFlight[i] = JobRef{Queue: qList[i], ID: idList[i]}
		}
		p.StartedAt, p.HeartbeatAt = p.StartedAt.UTC(), p.HeartbeatAt.UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gue: list pools: %w", err)
	}
	return out, nil
}

// ThroughputPoint is the runs registered pools finished in one queue and
// minute.
type ThroughputPoint struct {
	Queue  string    `json:"queue"`
	Minute time.Time `json:"minute"`
	Worked int64     `json:"worked"`
	Failed int64     `json:"failed"`
}

// Throughput returns the per-minute counts of the last since (at most the
// two hours kept), by minute then queue.
func (c *Client) Throughput(ctx context.Context, since time.Duration) ([]ThroughputPoint, error) {
	if c.err != nil {
		return nil, c.err
	}
	rows, err := c.pool.Query(ctx, c.stmts.ThroughputList, since.Microseconds())
	if err != nil {
		return nil, fmt.Errorf("gue: throughput: %w", notMigrated(c.schema, err))
	}
	defer rows.Close()
	var out []ThroughputPoint
	for rows.Next() {
		var p ThroughputPoint
		if err := rows.Scan(&p.Queue, &p.Minute, &p.Worked, &p.Failed); err != nil {
			return nil, fmt.Errorf("gue: throughput: %w", err)
		}
		p.Minute = p.Minute.UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// adapterNoRows reports whether err is a Scan that found no row.
func adapterNoRows(err error) bool { return errors.Is(err, adapter.ErrNoRows) }

// errorsIsNotFound reports whether err wraps ErrJobNotFound.
func errorsIsNotFound(err error) bool { return errors.Is(err, ErrJobNotFound) }
