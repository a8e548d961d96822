package signup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/guetest"
	"github.com/gue-go/gue/driver-pgxv5"
)

// newDB gives each test a schema of its own in the database DATABASE_URL
// names, with the application's table and gue's, dropped when the test ends.
func newDB(t *testing.T) (pool adapter.ConnPool, c *gue.Client, schema string) {
	t.Helper()
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		t.Skip("DATABASE_URL is not set (make test sets it)")
	}
	ctx := context.Background()
	schema = fmt.Sprintf("signup_test_%d", time.Now().UnixNano())
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = p.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		p.Close()
	})
	pool = pgxv5.NewConnPool(p)
	if err := gue.Migrate(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, "CREATE TABLE "+schema+".users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE)"); err != nil {
		t.Fatal(err)
	}
	return pool, gue.NewClient(pool, gue.WithClientSchema(schema)), schema
}

// fakeMailer records what it sends, and fails while down.
type fakeMailer struct {
	mu   sync.Mutex
	sent []string
	down bool
}

func (m *fakeMailer) Send(_ context.Context, to, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errors.New("mail server unavailable")
	}
	m.sent = append(m.sent, to)
	return nil
}

func TestSignupEnqueuesWelcomeMail(t *testing.T) {
	pool, c, schema := newDB(t)
	ctx := context.Background()
	id, err := Signup(ctx, pool, c, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	job := guetest.RequireEnqueued(t, pool, guetest.Match{
		Schema:    schema,
		Queue:     "mail",
		Type:      "welcome",
		Args:      WelcomeArgs{UserID: id, Email: "ada@example.com"},
		UniqueKey: fmt.Sprintf("welcome-%d", id),
		State:     gue.StateReady,
	})

	// The handler, through the real engine: the mail goes out and the job
	// is done.
	m := &fakeMailer{}
	if got := guetest.WorkOne(t, c, WorkMap(m), "mail"); got != gue.OutcomeDone {
		t.Fatalf("welcome job %d ended %s; want done", job.ID, got)
	}
	if len(m.sent) != 1 || m.sent[0] != "ada@example.com" {
		t.Errorf("sent %v; want one mail to ada@example.com", m.sent)
	}
	guetest.RequireNotEnqueued(t, pool, guetest.Match{Schema: schema, Queue: "mail"})
}

func TestBadSignupEnqueuesNothing(t *testing.T) {
	pool, c, schema := newDB(t)
	ctx := context.Background()
	if _, err := Signup(ctx, pool, c, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	// The same address again: the insert fails, and so nothing is enqueued.
	if _, err := Signup(ctx, pool, c, "ada@example.com"); err == nil {
		t.Fatal("a second signup of one address succeeded")
	}
	if _, err := Signup(ctx, pool, c, "no address"); !errors.Is(err, ErrBadEmail) {
		t.Fatalf("signup of a bad address: %v", err)
	}
	guetest.RequireEnqueuedN(t, pool, guetest.Match{Schema: schema, Type: "welcome"}, 1)
}

func TestWelcomeMailRetriesWhileMailIsDown(t *testing.T) {
	pool, _, schema := newDB(t)
	c := gue.NewClient(pool, gue.WithClientSchema(schema), gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		if _, err := Signup(context.Background(), pool, c, email); err != nil {
			t.Fatal(err)
		}
	}
	m := &fakeMailer{down: true}
	got := guetest.Drain(t, c, WorkMap(m), "mail", 2)
	if got[gue.OutcomeError] != 3 {
		t.Fatalf("outcomes %v; want 3 errors", got)
	}
	// Each is kept for its retry, with the failure recorded.
	guetest.RequireEnqueuedN(t, pool, guetest.Match{Schema: schema, Type: "welcome", State: gue.StateRetrying}, 3)
}
