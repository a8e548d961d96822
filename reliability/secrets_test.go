package reliability_test

import (
	"bytes"
	"context"
	"log"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gue-go/gue/conformance"
	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/driver-pgxv5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Scenario 8: passwords in connection strings never reach logs or errors,
// whatever fails: a wrong password, killed connections, failing jobs, a
// closed pool.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	d := newDatabase(t, conformance.ServerDSN(t))
	role, password, dsn := newRole(t, d)
	d.exec(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ` + role)
	d.exec(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ` + role)
	d.enqueue("", 200)
	d.exec(`INSERT INTO gue_jobs (job_type) VALUES ('no-such-type')`)

	u, _ := url.Parse(dsn)
	wrongPassword := password + "-wrong"
	u.User = url.UserPassword(role, wrongPassword)
	ws := []*worker{
		startWorker(t, dsn, "-workers", "4", "-sleep", "5ms"),
		startWorker(t, u.String(), "-workers", "1"),
	}
	for d.count(`SELECT count(*) FROM results`) < 20 {
		time.Sleep(20 * time.Millisecond)
	}
	d.exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, role)
	for d.count(`SELECT count(*) FROM gue_jobs WHERE job_type = 'work'`) > 0 {
		time.Sleep(50 * time.Millisecond)
	}
	for _, w := range ws {
		w.stop(t)
	}
	if !logsContain(ws[1:], "password authentication failed") {
		t.Error("the process with the wrong password did not log its failure")
	}
	for _, secret := range []string{password, wrongPassword} {
		if logsContain(ws, secret) {
			t.Errorf("a password appears in a worker's log")
		}
	}

	// In process: errors and log lines of a failing client.
	var logs bytes.Buffer
	ctx := context.Background()
	p, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	pool := pgxv5.NewConnPool(p)
	logger := adapter.NewStdLogger(log.New(&logs, "", 0))
	c := gue.NewClient(pool, gue.WithClientLogger(logger))
	w := gue.NewWorker(c, gue.WorkMap{}, gue.WithWorkerLogger(logger))
	w.WorkOne(ctx) // the unknown type fails and is logged
	pool.Close()
	var errs []string
	if err := c.Enqueue(ctx, &gue.Job{Type: "t"}); err != nil {
		errs = append(errs, err.Error())
	}
	if _, err := c.LockJob(ctx, ""); err != nil {
		errs = append(errs, err.Error())
	}
	w.WorkOne(ctx) // logs the closed pool
	if _, err := pgxpool.New(ctx, u.String()); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) < 2 || logs.Len() == 0 {
		t.Fatalf("expected failures to inspect; errors %q, log %q", errs, logs.String())
	}
	all := strings.Join(errs, "\n") + logs.String()
	for _, secret := range []string{password, wrongPassword} {
		if strings.Contains(all, secret) {
			t.Errorf("a password appears in errors or logs:\n%s", all)
		}
	}
}
