package gue

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/wake"
)

// The admin API: what the gue CLI, the dashboard and users' own tools use to
// look at and act on a queue. Reads never lock job rows (no FOR UPDATE), so
// they never make a worker skip a job; every statement about one job names
// its queue as well as its ID.

// JobState is where a job stands.
type JobState string

// The states of a job. Running is known from the pool registry (see
// WithPoolRegistry): a job locked by a Worker outside a pool, or by
// Client.LockJob, shows as ready.
const (
	// StateReady: RunAt has passed; waiting for a worker.
	StateReady JobState = "ready"
	// StateRunning: a registered pool is working it.
	StateRunning JobState = "running"
	// StateScheduled: RunAt is in the future and it never failed.
	StateScheduled JobState = "scheduled"
	// StateRetrying: it failed at least once and waits for its next run.
	StateRetrying JobState = "retrying"
	// StateDead: it will not run again (see gue_jobs_dead): it failed its
	// last attempt, was discarded or cancelled.
	StateDead JobState = "dead"
)

// ParseJobState returns the JobState named s, or an error listing the
// valid names. "" is the zero JobState: every live job.
func ParseJobState(s string) (JobState, error) {
	switch st := JobState(s); st {
	case "", StateReady, StateRunning, StateScheduled, StateRetrying, StateDead:
		return st, nil
	}
	return "", fmt.Errorf("gue: unknown job state %q (want ready, running, scheduled, retrying or dead)", s)
}

// JobInfo is a job as the admin API shows it, live or dead. GetJob and
// FindJob fill in Args; ListJobs leaves it nil (a page of large args would
// cost seconds to read and send), which JSON leaves out.
type JobInfo struct {
	ID          int64             `json:"id"`
	Queue       string            `json:"queue"`
	Type        string            `json:"type"`
	Priority    int16             `json:"priority"`
	RunAt       time.Time         `json:"run_at"`
	Args        json.RawMessage   `json:"args,omitempty"`
	ErrorCount  int32             `json:"error_count"`
	LastError   string            `json:"last_error,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	MaxAttempts int32             `json:"max_attempts,omitempty"`
	UniqueKey   string            `json:"unique_key,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	State       JobState          `json:"state"`
	// Reason and DiedAt are set for a dead job: ReasonMaxAttempts,
	// ReasonDiscarded or ReasonCancelled, and when.
	Reason string     `json:"reason,omitempty"`
	DiedAt *time.Time `json:"died_at,omitempty"`
}

// JobFilter selects jobs for Client.ListJobs. Zero fields select all.
type JobFilter struct {
	// Queue, when QueueSet, keeps the jobs of one queue ("" is a queue).
	Queue    string
	QueueSet bool
	// Type keeps the jobs of one type.
	Type string
	// State keeps the jobs in one state; "" keeps every live job (not the
	// dead ones, which StateDead lists).
	State JobState
	// After continues a listing after this job (JobPage.Next).
	After *JobRef
	// Limit is the page size: default 50, at most 1000.
	Limit int
}

// JobPage is one page of Client.ListJobs, ordered by queue then ID.
type JobPage struct {
	Jobs []JobInfo `json:"jobs"`
	// Next continues the listing (JobFilter.After); nil on the last page.
	Next *JobRef `json:"next,omitempty"`
}

// jobCols are the selected columns of a live job (alias j, running jobs r).
const jobCols = `j.job_id, j.queue, j.job_type, j.priority, j.run_at, j.args::text, j.error_count, j.last_error, j.metadata::text,
  j.max_attempts, j.unique_key, j.created_at, j.updated_at,
  CASE WHEN r.id IS NOT NULL THEN 'running' WHEN j.run_at <= now() THEN 'ready' WHEN j.error_count > 0 THEN 'retrying' ELSE 'scheduled' END,
  NULL::text, NULL::timestamptz`

// deadCols are the same of a dead job (alias j).
const deadCols = `j.job_id, j.queue, j.job_type, j.priority, j.run_at, j.args::text, j.error_count, j.last_error, j.metadata::text,
  j.max_attempts, j.unique_key, j.created_at, j.died_at, 'dead', j.reason, j.died_at`

// listJobCols and listDeadCols are a listing's columns: jobCols and
// deadCols without the args (NULL), since no list shows them and a page of
// large ones would be megabytes to read, detoast and send.
var (
	listJobCols  = strings.Replace(jobCols, "j.args::text", "NULL::text", 1)
	listDeadCols = strings.Replace(deadCols, "j.args::text", "NULL::text", 1)
)

// running is the CTE of the jobs registered pools run.
func (q *queries) running() string {
	return `running AS (SELECT u.q, u.id FROM ` + quoteIdent(q.Schema) + `.gue_pools p,
  unnest(p.in_flight_queues, p.in_flight_ids) AS u(q, id) WHERE p.heartbeat_at >= now() - interval '1 minute')`
}

// ListJobs returns one page of the jobs f selects, ordered by queue and ID
// (keyset pagination: pass the page's Next as the next filter's After).
// It does not read the jobs' args (JobInfo.Args is nil): GetJob does.
func (c *Client) ListJobs(ctx context.Context, f JobFilter) (JobPage, error) {
	if c.err != nil {
		return JobPage{}, c.err
	}
	if _, err := ParseJobState(string(f.State)); err != nil {
		return JobPage{}, err
	}
	if err := checkText("list jobs", f.Queue, f.Type); err != nil {
		return JobPage{}, err
	}
	if f.After != nil {
		if err := checkText("list jobs after", f.After.Queue); err != nil {
			return JobPage{}, err
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	q := quoteIdent(c.schema)
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	var where []string
	if f.QueueSet {
		where = append(where, "j.queue = "+arg(f.Queue))
	}
	if f.Type != "" {
		where = append(where, "j.job_type = "+arg(f.Type))
	}
	if f.After != nil {
		where = append(where, "(j.queue, j.job_id) > ("+arg(f.After.Queue)+", "+arg(f.After.ID)+"::bigint)")
	}
	var stmt string
	switch f.State {
	case StateDead:
		stmt = `SELECT ` + listDeadCols + ` FROM ` + q + `.gue_jobs_dead j`
	case StateRunning:
		stmt = `WITH ` + c.stmts.running() + ` SELECT ` + listJobCols + ` FROM ` + q + `.gue_jobs j JOIN running r ON r.q = j.queue AND r.id = j.job_id`
	default:
		stmt = `WITH ` + c.stmts.running() + ` SELECT ` + listJobCols + ` FROM ` + q + `.gue_jobs j LEFT JOIN running r ON r.q = j.queue AND r.id = j.job_id`
		switch f.State {
		case StateReady:
			where = append(where, "j.run_at <= now() AND r.id IS NULL")
		case StateScheduled:
			where = append(where, "j.run_at > now() AND j.error_count = 0")
		case StateRetrying:
			where = append(where, "j.run_at > now() AND j.error_count > 0")
		}
	}
	if len(where) > 0 {
		stmt += " WHERE " + strings.Join(where, " AND ")
	}
	stmt += " ORDER BY j.queue, j.job_id LIMIT " + arg(limit+1)
	jobs, err := c.queryJobs(ctx, stmt, args...)
	if err != nil {
		return JobPage{}, fmt.Errorf("gue: list jobs: %w", err)
	}
	page := JobPage{Jobs: jobs}
	if len(jobs) > limit {
		page.Jobs = jobs[:limit]
		last := page.Jobs[limit-1]
		page.Next = &JobRef{Queue: last.Queue, ID: last.ID}
	}
	return page, nil
}

// GetJob returns job id of queue, live or dead, or an error wrapping
// ErrJobNotFound.
func (c *Client) GetJob(ctx context.Context, queue string, id int64) (*JobInfo, error) {
	if c.err != nil {
		return nil, c.err
	}
	if err := checkText("get job", queue); err != nil {
		return nil, err
	}
	q := quoteIdent(c.schema)
	jobs, err := c.queryJobs(ctx, `WITH `+c.stmts.running()+`
SELECT `+jobCols+` FROM `+q+`.gue_jobs j LEFT JOIN running r ON r.q = j.queue AND r.id = j.job_id WHERE j.queue = $1 AND j.job_id = $2
UNION ALL SELECT `+deadCols+` FROM `+q+`.gue_jobs_dead j WHERE j.queue = $1 AND j.job_id = $2`, queue, id)
	if err != nil {
		return nil, fmt.Errorf("gue: get job %d of queue %q: %w", id, queue, err)
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("gue: get job %d of queue %q: %w", id, queue, ErrJobNotFound)
	}
	return &jobs[0], nil
}

// FindJob returns job id of whatever queue holds it, live or dead, or an
// error wrapping ErrJobNotFound. Job IDs are unique across queues, but the
// tables are keyed by (queue, ID): FindJob reads every queue to find it,
// which on a large table (or one distributed by queue) costs a scan; prefer
// GetJob when the queue is known.
func (c *Client) FindJob(ctx context.Context, id int64) (*JobInfo, error) {
	if c.err != nil {
		return nil, c.err
	}
	q := quoteIdent(c.schema)
	var queue string
	err := c.pool.QueryRow(ctx, `SELECT queue FROM `+q+`.gue_jobs WHERE job_id = $1
UNION ALL SELECT queue FROM `+q+`.gue_jobs_dead WHERE job_id = $1 LIMIT 1`, id).Scan(&queue)
	switch {
	case err == nil:
		return c.GetJob(ctx, queue, id)
	case adapterNoRows(err):
		return nil, fmt.Errorf("gue: find job %d: %w", id, ErrJobNotFound)
	}
	return nil, fmt.Errorf("gue: find job %d: %w", id, notMigrated(c.schema, err))
}

// queryJobs runs a statement selecting jobCols or deadCols.
func (c *Client) queryJobs(ctx context.Context, stmt string, args ...any) ([]JobInfo, error) {
	rows, err := c.pool.Query(ctx, stmt, args...)
	if err != nil {
		return nil, notMigrated(c.schema, err)
	}
	defer rows.Close()
	var out []JobInfo
	for rows.Next() {
		var j JobInfo
		var args, lastErr, md, key, reason sql.NullString
		var died sql.NullTime
		var state string
		if err := rows.Scan(&j.ID, &j.Queue, &j.Type, &j.Priority, &j.RunAt, &args, &j.ErrorCount, &lastErr, &md,
			&j.MaxAttempts, &key, &j.CreatedAt, &j.UpdatedAt, &state, &reason, &died); err != nil {
			return nil, err
		}
		if args.Valid {
			j.Args = json.RawMessage(args.String)
		}
		j.LastError, j.UniqueKey, j.State, j.Reason = lastErr.String, key.String, JobState(state), reason.String
		j.RunAt, j.CreatedAt, j.UpdatedAt = j.RunAt.UTC(), j.CreatedAt.UTC(), j.UpdatedAt.UTC()
		if died.Valid {
			t := died.Time.UTC()
			j.DiedAt = &t
		}
		if md.Valid && md.String != "" {
			// A row written by hand may hold metadata that is no object of
			// strings: show it under one key rather than fail the listing.
			if json.Unmarshal([]byte(md.String), &j.Metadata) != nil {
				j.Metadata = map[string]string{"(undecodable)": md.String}
			}
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// RetryJob makes job id of queue run now: a dead job goes back to the
// queue (as RetryDead), a scheduled or retrying one has its RunAt moved to
// now; a ready one stays as it is. It returns an error wrapping
// ErrJobRunning for a job a worker holds, ErrJobNotFound for no such job,
// ErrDuplicateJob for a dead job whose unique key a live job took.
func (c *Client) RetryJob(ctx context.Context, queue string, id int64) error {
	if c.err != nil {
		return c.err
	}
	if err := checkText("retry job", queue); err != nil {
		return err
	}
	q := quoteIdent(c.schema)
	// SKIP LOCKED: a held job is running, and waiting for it could take
	// as long as the job.
	tag, err := c.pool.Exec(ctx, `UPDATE `+q+`.gue_jobs SET run_at = LEAST(run_at, now()), updated_at = now()
WHERE queue = $1 AND job_id = (SELECT job_id FROM `+q+`.gue_jobs WHERE queue = $1 AND job_id = $2 FOR UPDATE SKIP LOCKED)`, queue, id)
	if err != nil {
		return fmt.Errorf("gue: retry job %d of queue %q: %w", id, queue, notMigrated(c.schema, err))
	}
	if tag.RowsAffected() == 1 {
		if _, err := c.pool.Exec(ctx, c.stmts.Notify, wake.Payload(c.schema, queue)); err != nil {
			c.logger.Error("could not announce a retried job; pools find it by polling", adapter.Err(err))
		}
		return nil
	}
	if err := c.RetryDead(ctx, queue, id); err == nil || !errorsIsNotFound(err) {
		return err
	}
	return c.heldOrMissing(ctx, "retry", queue, id)
}

// DeleteJob deletes job id of queue, live (not running) or dead. It
// returns an error wrapping ErrJobRunning for a job a worker holds (Cancel
// it instead) and ErrJobNotFound for no such job.
func (c *Client) DeleteJob(ctx context.Context, queue string, id int64) error {
	if c.err != nil {
		return c.err
	}
	if err := checkText("delete job", queue); err != nil {
		return err
	}
	q := quoteIdent(c.schema)
	tag, err := c.pool.Exec(ctx, `DELETE FROM `+q+`.gue_jobs
WHERE queue = $1 AND job_id = (SELECT job_id FROM `+q+`.gue_jobs WHERE queue = $1 AND job_id = $2 FOR UPDATE SKIP LOCKED)`, queue, id)
	if err != nil {
		return fmt.Errorf("gue: delete job %d of queue %q: %w", id, queue, notMigrated(c.schema, err))
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if tag, err = c.pool.Exec(ctx, `DELETE FROM `+q+`.gue_jobs_dead WHERE queue = $1 AND job_id = $2`, queue, id); err != nil {
		return fmt.Errorf("gue: delete dead job %d of queue %q: %w", id, queue, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return c.heldOrMissing(ctx, "delete", queue, id)
}

// heldOrMissing is the error for a job an action found neither queued nor
// dead: ErrJobRunning if it exists (locked), ErrJobNotFound otherwise.
func (c *Client) heldOrMissing(ctx context.Context, action, queue string, id int64) error {
	var n int64
	if err := c.pool.QueryRow(ctx, c.stmts.Exists, queue, id).Scan(&n); err != nil {
		return fmt.Errorf("gue: %s job %d of queue %q: %w", action, id, queue, err)
	}
	if n > 0 {
		return fmt.Errorf("gue: %s job %d of queue %q: %w", action, id, queue, ErrJobRunning)
	}
	return fmt.Errorf("gue: %s job %d of queue %q: %w", action, id, queue, ErrJobNotFound)
}
