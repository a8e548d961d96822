package gue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/wake"
)

// Client enqueues and locks jobs. It is safe for concurrent use.
type Client struct {
	pool    adapter.ConnPool
	backoff Backoff
	id      string
	logger  adapter.Logger
	schema  string
	stmts   *queries // the SQL of the client's schema
	hooks   []Hooks
	// syncCompletion turns off asynchronous commits of completions.
	syncCompletion bool
	// maxAttempts is the failed runs a job may have when its own
	// MaxAttempts is 0; 0 means no limit.
	maxAttempts int32
	// noNotify: WithClientNotify(false).
	noNotify bool
	// notifier announces Enqueue's jobs after their commit.
	notifier *wake.Notifier
	// outage makes the workers of this Client report a failing lock query
	// once per outage, not once per poll per worker.
	outage wake.Outage
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
	if c.maxAttempts < 0 {
		c.err = fmt.Errorf("gue: WithClientMaxAttempts(%d): %w", c.maxAttempts, ErrInvalidMaxAttempts)
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
	c.stmts = newQueries(schema)
	c.notifier = wake.NewNotifier(pool, c.stmts.NotifyMany, c.logger)
	return c
}

// inSchema returns a Client like c that works in schema: the one a Worker or
// WorkerPool built with WithWorkerSchema or WithPoolSchema uses for
// everything it does (locking and ending jobs, its registry row, its
// periodic jobs, cancel and pause look-ups), so that none of it lands in c's
// schema. It shares c's pool, ID, logger, hooks and settings; c itself is
// left as it is.
func (c *Client) inSchema(schema string) (*Client, error) {
	s, err := checkSchema(schema)
	if err != nil {
		return nil, err
	}
	if s == c.schema {
		return c, nil
	}
	d := c.derive()
	d.schema, d.stmts = s, newQueries(s)
	d.notifier = wake.NewNotifier(c.pool, d.stmts.NotifyMany, c.logger)
	return d, nil
}

// withHooks returns a Client like c whose hooks are c's, then hs (inside
// them): the Client of a Worker or WorkerPool with hooks of its own.
func (c *Client) withHooks(hs []Hooks) *Client {
	d := c.derive()
	d.hooks = append(slices.Clip(c.hooks), hs...)
	return d
}

// derive returns a Client with c's settings, schema, statements and
// notifier; its outage log is its own.
func (c *Client) derive() *Client {
	return &Client{pool: c.pool, backoff: c.backoff, id: c.id, logger: c.logger, schema: c.schema, stmts: c.stmts,
		hooks: c.hooks, syncCompletion: c.syncCompletion, maxAttempts: c.maxAttempts, noNotify: c.noNotify,
		notifier: c.notifier, err: c.err}
}

// Enqueue adds a job in a statement of its own (committed on return). It fills
// in j.ID and, when zero, j.RunAt (from the database's clock); an empty
// j.Args becomes []. Bad input (nil job, empty Type, invalid JSON) returns an
// error and writes nothing.
//
// Listening pools are told of the job just after its commit, by a NOTIFY
// that Enqueue does not wait for; Enqueue calls made meanwhile share the
// next one (see WithClientNotify).
func (c *Client) Enqueue(ctx context.Context, j *Job) error {
	return c.enqueue(ctx, j, c.pool, true)
}

// EnqueueTx adds a job inside tx, the caller's transaction: the job exists for
// workers only if and when tx commits, and disappears with a rollback. Fields
// are filled in as by Enqueue. Bad input and ErrDuplicateJob leave tx as
// usable as before the call: the one statement EnqueueTx sends does not fail
// on a duplicate key (ON CONFLICT), and bad input sends none. A failure of
// the database itself (gue_jobs missing, the connection lost) aborts tx as
// any failed statement does.
func (c *Client) EnqueueTx(ctx context.Context, j *Job, tx adapter.Tx) error {
	if tx == nil {
		return fmt.Errorf("gue: enqueue: %w", ErrNilTx)
	}
	return c.enqueue(ctx, j, tx, false)
}

// enqueue validates j and inserts it through db; own says db is the
// Client's pool, the statement a transaction of its own, whose job is
// announced after the commit rather than in the transaction.
func (c *Client) enqueue(ctx context.Context, j *Job, db adapter.Queryable, own bool) error {
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
	insert := func(ctx context.Context, j *Job) error { return c.insert(ctx, j, db, own) }
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

// insert stores a validated job through db (see enqueue for own).
func (c *Client) insert(ctx context.Context, j *Job, db adapter.Queryable, own bool) error {
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
	var payload any // nil: no NOTIFY in the statement
	if !own && !c.noNotify {
		payload = wake.Payload(c.schema, j.Queue)
	}
	var stored time.Time
	var kind int64
	var notified bool
	for attempt := 0; ; attempt++ {
		err := db.QueryRow(ctx, c.stmts.Enqueue, j.Queue, j.Priority, runAt, j.Type, string(j.Args), metadata,
			payload, j.MaxAttempts, uniqueKeyArg(j.UniqueKey)).Scan(&j.ID, &stored, &kind, &notified)
		if err == nil {
			break
		}
		if !errors.Is(err, adapter.ErrNoRows) || j.UniqueKey == "" {
			return fmt.Errorf("gue: enqueue job of type %q: %w", j.Type, notMigrated(c.schema, err))
		}
		// The INSERT did nothing: a live job has the key.
		found, derr := c.duplicate(ctx, j, db)
		if found || derr != nil || attempt == 2 {
			if derr == nil {
				derr = fmt.Errorf("gue: enqueue job of type %q: %w: queue %q, key %q (a live job kept appearing and going)", j.Type, ErrDuplicateJob, j.Queue, j.UniqueKey)
			}
			return derr
		}
	}
	if given.IsZero() {
		j.RunAt = stored.UTC()
		j.filledRunAt = j.RunAt
	}
	if own && !c.noNotify {
		if p := wake.EnqueuedPayload(c.schema, j.Queue, kind, stored); p != "" {
			c.notifier.Announce(p)
		}
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
	if !storable(j.Type) || !storable(j.Queue) {
		return fmt.Errorf("gue: enqueue: %w", ErrInvalidType)
	}
	if len(j.Args) > 0 && (!json.Valid(j.Args) || !utf8.Valid(j.Args)) {
		return fmt.Errorf("gue: enqueue job of type %q: %w", j.Type, ErrInvalidArgs)
	}
	if err := checkUniqueKey(j.UniqueKey); err != nil {
		return fmt.Errorf("gue: enqueue job of type %q: %w", j.Type, err)
	}
	if j.MaxAttempts < 0 {
		return fmt.Errorf("gue: enqueue job of type %q: %w (got %d)", j.Type, ErrInvalidMaxAttempts, j.MaxAttempts)
	}
	if !j.RunAt.IsZero() {
		if y := j.RunAt.UTC().Year(); y < 1 || y > 9999 {
			return fmt.Errorf("gue: enqueue job of type %q: %w (got %v)", j.Type, ErrInvalidRunAt, j.RunAt)
		}
	}
	return nil
}

// newID returns prefix-<random hex>, used for default client and worker IDs.
func newID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}
