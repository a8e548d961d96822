package reliability_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/gue-go/gue/conformance"
	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/driver-pgxv5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// newRole creates a login role with a random password on the server behind d,
// dropped when t ends, and returns its name, password and a DSN for d's
// database that logs in as it.
func newRole(t *testing.T, d *database) (name, password, dsn string) {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	name = "gue_role_" + hex.EncodeToString(b[:4])
	password = "pw-" + hex.EncodeToString(b[4:]) + "-secret"
	d.exec(`CREATE ROLE ` + name + ` LOGIN PASSWORD '` + password + `'`)
	adminDSN := conformance.ServerDSN(t)
	t.Cleanup(func() { // after the database is dropped (cleanups run in reverse)
		admin, err := pgxpool.New(context.Background(), adminDSN)
		if err == nil {
			_, _ = admin.Exec(context.Background(), `DROP ROLE IF EXISTS `+name)
			admin.Close()
		}
	})
	u, err := url.Parse(d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(name, password)
	return name, password, u.String()
}

// Scenario 7: a role with only SELECT, INSERT, UPDATE and DELETE on gue_jobs
// (and USAGE on its sequence) enqueues and works jobs; it cannot migrate, so
// migrations stay a separate step run by a more privileged role.
func TestLeastPrivilegeRole(t *testing.T) {
	d := newDatabase(t, conformance.ServerDSN(t))
	role, _, dsn := newRole(t, d)
	d.exec(`REVOKE ALL ON DATABASE ` + quote(d.pool.Config().ConnConfig.Database) + ` FROM PUBLIC`)
	d.exec(`GRANT CONNECT ON DATABASE ` + quote(d.pool.Config().ConnConfig.Database) + ` TO ` + role)
	d.exec(`GRANT USAGE ON SCHEMA public TO ` + role)
	d.exec(`GRANT SELECT, INSERT, UPDATE, DELETE ON gue_jobs TO ` + role)
	d.exec(`GRANT USAGE ON SEQUENCE gue_jobs_job_id_seq TO ` + role)

	ctx := context.Background()
	p, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	pool := pgxv5.NewConnPool(p)
	c := gue.NewClient(pool, gue.WithClientBackoff(gue.ConstantBackoff(0)))

	for _, typ := range []string{"ok", "fails"} {
		if err := c.Enqueue(ctx, &gue.Job{Type: typ}); err != nil {
			t.Fatalf("enqueue as %s: %v", role, err)
		}
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EnqueueTx(ctx, &gue.Job{Type: "ok"}, tx); err != nil {
		t.Fatalf("EnqueueTx as %s: %v", role, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	failed := false
	w := gue.NewWorker(c, gue.WorkMap{
		"ok": func(*gue.Job) error { return nil },
		"fails": func(*gue.Job) error {
			if !failed {
				failed = true
				return errors.New("first attempt fails")
			}
			return nil
		},
	})
	deadline := time.Now().Add(30 * time.Second)
	for d.count(`SELECT count(*) FROM gue_jobs`) > 0 && time.Now().Before(deadline) {
		w.WorkOne(ctx)
	}
	if n := d.count(`SELECT count(*) FROM gue_jobs`); n != 0 || !failed {
		t.Errorf("as %s: %d jobs left (failed path taken: %v); want all worked", role, n, failed)
	}
	if err := gue.Migrate(ctx, pool, "other"); err == nil {
		t.Errorf("Migrate as %s succeeded; it needs DDL privileges the worker role does not have", role)
	}
}

func quote(ident string) string { return `"` + ident + `"` }
