package gueui_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gue-go/gue/conformance"
	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	pgxv5 "github.com/gue-go/gue/driver-pgxv5"
	gueui "github.com/gue-go/gue/ui"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The dashboard over a pool behind PgBouncer in transaction mode (pgx in
// the simple protocol): its pages show the jobs, and an action with its
// CSRF token goes through.
func TestThroughPgBouncer(t *testing.T) {
	dsn := conformance.NewDatabase(t, open)
	direct := open(t, dsn)
	if err := gue.Migrate(context.Background(), direct, ""); err != nil {
		t.Fatal(err)
	}
	simple := func(t *testing.T, dsn string) adapter.ConnPool {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		p, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return pgxv5.NewConnPool(p)
	}
	pool := conformance.ThroughPgBouncer(t, simple)(t, dsn)
	client := gue.NewClient(pool)
	j := &gue.Job{Type: "SendReceipt", Queue: "mail"}
	if err := client.Enqueue(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gueui.NewHandler(pool, gueui.WithActions(true)))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	for _, page := range []string{"", "jobs?queue=mail", "job?id=" + itoa(j.ID)} {
		status, body := get(t, c, srv.URL+"/"+page)
		if status != http.StatusOK || !strings.Contains(body, "mail") {
			t.Errorf("page %q through PgBouncer: %d, mail shown: %v", page, status, strings.Contains(body, "mail"))
		}
	}
	_, body := get(t, c, srv.URL+"/job?id="+itoa(j.ID))
	i := strings.Index(body, `name="csrf" value="`)
	if i < 0 {
		t.Fatal("the job page has no CSRF token")
	}
	tok := body[i+len(`name="csrf" value="`):]
	tok = tok[:strings.Index(tok, `"`)]
	resp, err := c.PostForm(srv.URL+"/actions/delete", url.Values{"queue": {"mail"}, "id": {itoa(j.ID)}, "return": {"jobs"}, "csrf": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var n int64
	if err := direct.QueryRow(context.Background(), `SELECT count(*) FROM gue_jobs`).Scan(&n); err != nil || n != 0 {
		t.Errorf("delete through PgBouncer: status %d, %d jobs left (%v)", resp.StatusCode, n, err)
	}
}
