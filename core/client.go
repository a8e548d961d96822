package gue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/gue-go/gue/core/adapter"
)

// Client enqueues and locks jobs. It is safe for concurrent use.
type Client struct {
	pool    adapter.ConnPool
	backoff Backoff
	id      string
	logger  adapter.Logger
	schema  string
	q       *queries
	hooks   []Hooks
	// syncCompletion turns off asynchronous commits of completions.
	syncCompletion bool
	// outage makes the workers of this Client report a failing lock query
	// once per outage, not once per poll per worker.
	outage outage
	err    error // a bad option, reported by every call
}

// NewClient returns a Client working on pool with the given options. A bad
// option (such as an invalid schema name) or a nil pool does not panic: every
// call of the Client returns the error instead.
func NewClient(pool adapter.ConnPool, options ...ClientOption) *Client {
	c := &Client{
		pool:    pool,
		backoff: DefaultExponentialBackoff,
		id:      newID("client"),
		logger:  adapter.DefaultLogger(),
		schema:  defaultSchema,
	}
	for _, o := range options {
		o(c)
	}
	if c.backoff == nil {
		c.backoff = DefaultExponentialBackoff
	}
	if c.logger == nil {
		c.logger = adapter.DefaultLogger()
	}
	c.logger = c.logger.With(adapter.F("client-id", c.id))
	schema, err := checkSchema(c.schema)
	if err != nil {
		c.err = fmt.Errorf("gue: %w", err)
		schema = defaultSchema
	}
	if pool == nil {
		c.err = errors.Join(c.err, fmt.Errorf("gue: %w", ErrNilPool))
	}
	c.schema = schema
	c.q = newQueries(schema)
	return c
}

// Enqueue adds a job in a statement of its own (committed on return). It fills
// in j.ID and, when zero, j.RunAt (from the database's clock); an empty
// j.Args becomes []. Bad input (nil job, empty Type, invalid JSON) returns an
// error and writes nothing.
func (c *Client) Enqueue(ctx context.Context, j *Job) error {
	return c.enqueue(ctx, j, c.pool)
}

// EnqueueTx adds a job inside tx, the caller's transaction: the job exists for
// workers only if and when tx commits, and disappears with a rollback. Fields
// are filled in as by Enqueue.
func (c *Client) EnqueueTx(ctx context.Context, j *Job, tx adapter.Tx) error {
	if tx == nil {
		return fmt.Errorf("gue: enqueue: %w", ErrNilTx)
	}
	return c.enqueue(ctx, j, tx)
}

func (c *Client) enqueue(ctx context.Context, j *Job, q adapter.Queryable) error {
	if err := c.validate(j); err != nil {
		return err
	}
	if c.err != nil {
		return c.err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("gue: enqueue: %w", err)
	}
	if len(j.Args) == 0 {
		j.Args = []byte("[]")
	}
	insert := func(ctx context.Context, j *Job) error { return c.insert(ctx, j, q) }
	if len(c.hooks) > 0 {
		insert = c.wrapEnqueue(insert)
	}
	if err := insert(ctx, j); err != nil {
		c.logger.Error("could not enqueue job", adapter.Err(err), adapter.F("job-type", j.Type), adapter.F("queue", j.Queue))
		return err
	}
	c.logger.Debug("job enqueued", adapter.F("job-id", j.ID), adapter.F("job-type", j.Type), adapter.F("queue", j.Queue))
	return nil
}

// insert stores a validated job through q.
func (c *Client) insert(ctx context.Context, j *Job, q adapter.Queryable) error {
	var runAt any // nil lets the database use now()
	given := j.givenRunAt()
	if !given.IsZero() {
		runAt = given
	}
	var metadata any // nil stores NULL
	if len(j.Metadata) > 0 {
		b, err := json.Marshal(j.Metadata)
		if err != nil {
			return fmt.Errorf("gue: enqueue job of type %q: metadata: %w", j.Type, err)
		}
		metadata = string(b)
	}
	var stored time.Time
	var notified bool
	err := q.QueryRow(ctx, c.q.enqueue, j.Queue, j.Priority, runAt, j.Type, string(j.Args), metadata,
		notifyPayload(c.schema, j.Queue)).Scan(&j.ID, &stored, &notified)
	if err != nil {
		return fmt.Errorf("gue: enqueue job of type %q: %w", j.Type, notMigrated(c.schema, err))
	}
	if given.IsZero() {
		j.RunAt = stored.UTC()
		j.filledRunAt = j.RunAt
	}
	return nil
}

// validate rejects input PostgreSQL would reject with a less clear error, or
// that could never be worked. ErrMissingType comes back bare (gue v2
// compares it with ==), the others wrapped with "gue: enqueue".
func (c *Client) validate(j *Job) error {
	if j == nil {
		return fmt.Errorf("gue: enqueue: %w", ErrNilJob)
	}
	if j.Type == "" {
		return ErrMissingType
	}
	for _, s := range []string{j.Type, j.Queue} {
		if !utf8.ValidString(s) || containsNUL(s) {
			return fmt.Errorf("gue: enqueue: %w", ErrInvalidType)
		}
	}
	if len(j.Args) > 0 && (!json.Valid(j.Args) || !utf8.Valid(j.Args)) {
		return fmt.Errorf("gue: enqueue job of type %q: %w", j.Type, ErrInvalidArgs)
	}
	if !j.RunAt.IsZero() {
		if y := j.RunAt.UTC().Year(); y < 1 || y > 9999 {
			return fmt.Errorf("gue: enqueue job of type %q: %w (got %v)", j.Type, ErrInvalidRunAt, j.RunAt)
		}
	}
	return nil
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// LockJob locks the next ready job of queue (the lowest Priority, then the
// earliest RunAt, among jobs whose RunAt has passed) in a new transaction and
// returns it, or returns nil, nil when no job is ready. Jobs locked by other
// transactions are skipped, not waited for.
//
// The caller owns the returned job's transaction and must end it with Done
// (usually after Delete) or Error; until then the job stays locked.
func (c *Client) LockJob(ctx context.Context, queue string) (*Job, error) {
	return c.lockJob(ctx, c.q, queue, nil, false)
}

// lockJob locks as LockJob does, helped by hints when not nil; busy is
// lockHints.rescanAfterMiss's. A job whose row cannot be decoded is charged
// with the failure (see undecodable) and the next job is locked instead, so
// that one bad row never blocks its queue.
func (c *Client) lockJob(ctx context.Context, q *queries, queue string, hints *lockHints, busy bool) (*Job, error) {
	var j *Job
	var err error
	for range maxUndecodableInARow {
		if j, err = c.lockJobOnce(ctx, q, queue, hints, busy); !errors.Is(err, errUndecodable) {
			break
		}
		c.logger.Error("a job could not be decoded; its failure is recorded on it", adapter.Err(err))
	}
	if len(c.hooks) > 0 {
		c.locked(ctx, queue, j, err)
	}
	return j, err
}

// maxUndecodableInARow bounds how many undecodable jobs one lockJob charges
// before it gives up and returns the error.
const maxUndecodableInARow = 8

// errUndecodable marks the error of a lock attempt that locked a job whose
// row could not be decoded (metadata that is not a JSON object of strings,
// written by hand or by another program) and recorded that as its failure.
var errUndecodable = errors.New("job row cannot be decoded")

func (c *Client) lockJobOnce(ctx context.Context, q *queries, queue string, hints *lockHints, busy bool) (*Job, error) {
	if c.err != nil {
		return nil, c.err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("gue: lock job: %w", err)
	}
	plan := hints.plan()
	first, firstArgs := q.lock, []any{queue, plan.args.prios, plan.args.runAts, plan.args.ids}
	if plan.one {
		first, firstArgs = q.lockOne, []any{queue, plan.prio, plan.pos.runAt, plan.pos.id}
	}
	// BEGIN goes out with the first lock query when the pool can pipeline.
	var tx adapter.Tx
	var row adapter.Row
	if pl, ok := c.pool.(adapter.Pipeliner); ok {
		tx, row = pl.BeginQueryRow(ctx, first, firstArgs...)
	} else {
		var err error
		if tx, err = c.pool.Begin(ctx); err != nil {
			return nil, fmt.Errorf("gue: lock job: begin: %w", err)
		}
		row = tx.QueryRow(ctx, first, firstArgs...)
	}
	j := &Job{ctx: ctx, tx: tx, pool: c.pool, q: q, backoff: c.backoff, asyncOK: !c.syncCompletion}
	var metadata []byte
	dest := []any{&j.ID, &j.Queue, &j.Priority, &j.RunAt, &j.Type, &j.Args, &j.ErrorCount, &j.LastError, &metadata}
	err := row.Scan(dest...)
	if plan.one && errors.Is(err, adapter.ErrNoRows) {
		// Rows at a smaller priority stopped lockOne: the general query
		// steps over them when they are not ready yet.
		plan = hints.general()
		err = tx.QueryRow(ctx, q.lock, queue, plan.args.prios, plan.args.runAts, plan.args.ids).Scan(dest...)
		if err == nil {
			hints.fastMissed()
		}
	}
	if !plan.full && errors.Is(err, adapter.ErrNoRows) && hints.rescanAfterMiss(busy) {
		// Nothing past the hints: there may be jobs behind them.
		plan.full = true
		err = tx.QueryRow(ctx, q.lock, queue, noHints.prios, noHints.runAts, noHints.ids).Scan(dest...)
		hints.rescanned(err == nil)
	}
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		if errors.Is(err, adapter.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("gue: lock job from queue %q: %w", queue, notMigrated(q.schema, err))
	}
	hints.record(j.Priority, lockPos{j.RunAt, j.ID}, plan)
	j.RunAt = j.RunAt.UTC()
	if err := decodeMetadata(metadata, &j.Metadata); err != nil {
		// Charged to this job, in its own transaction, like a failed run:
		// it backs off and the queue goes on.
		msg := fmt.Sprintf("gue: job %d cannot be decoded: %v", j.ID, err)
		if ferr := j.Error(context.WithoutCancel(ctx), msg); ferr != nil {
			return nil, fmt.Errorf("gue: lock job from queue %q: %s; recording it failed: %w", queue, msg, ferr)
		}
		return nil, fmt.Errorf("gue: lock job from queue %q: %w: %s", queue, errUndecodable, msg)
	}
	return j, nil
}

// decodeMetadata decodes a row's metadata column (NULL or empty: none).
func decodeMetadata(raw []byte, m *map[string]string) error {
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, m); err != nil {
		return fmt.Errorf("metadata %.200s: %w", raw, err)
	}
	return nil
}

// newID returns prefix-<random hex>, used for default client and worker IDs.
func newID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}
