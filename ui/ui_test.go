package gueui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gue-go/gue/conformance"
	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	pgxv5 "github.com/gue-go/gue/driver-pgxv5"
	gueui "github.com/gue-go/gue/ui"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) {
	code := m.Run()
	conformance.Terminate()
	os.Exit(code)
}

// fixture is a migrated database, a client on it and the dashboard served
// under a path prefix, as a user would mount it.
type fixture struct {
	t      *testing.T
	pgx    *pgxpool.Pool
	pool   adapter.ConnPool
	client *gue.Client
	srv    *httptest.Server
	base   string // the dashboard's URL, with its prefix and a slash
	dsn    string
}

func open(t *testing.T, dsn string) adapter.ConnPool {
	p, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return pgxv5.NewConnPool(p)
}

func newFixture(t *testing.T, opts ...gueui.Option) *fixture {
	t.Helper()
	dsn := conformance.NewDatabase(t, open)
	p, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	f := &fixture{t: t, pgx: p, pool: pgxv5.NewConnPool(p), dsn: dsn}
	if err := gue.Migrate(context.Background(), f.pool, ""); err != nil {
		t.Fatal(err)
	}
	f.client = gue.NewClient(f.pool)
	mux := http.NewServeMux()
	mux.Handle("/admin/gue/", http.StripPrefix("/admin/gue", gueui.NewHandler(f.pool, opts...)))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.base = f.srv.URL + "/admin/gue/"
	return f
}

func (f *fixture) enqueue(j *gue.Job) *gue.Job {
	f.t.Helper()
	if err := f.client.Enqueue(context.Background(), j); err != nil {
		f.t.Fatal(err)
	}
	return j
}

func (f *fixture) count(sql string, args ...any) int64 {
	f.t.Helper()
	var n int64
	if err := f.pgx.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// get fetches a page and returns its status and body.
func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const hostile = `<script>alert("x")</script>'"&`

// A job whose queue, type, args and last error hold markup renders as
// text on every page, and no page shows the connection string.
func TestEverythingIsEscaped(t *testing.T) {
	f := newFixture(t, gueui.WithActions(true))
	j := f.enqueue(&gue.Job{Type: hostile, Queue: hostile, Args: []byte(`{"html": "<script>alert(1)</script>"}`),
		Metadata: map[string]string{hostile: hostile}})
	if _, err := f.pgx.Exec(context.Background(), `UPDATE gue_jobs SET last_error = $1, error_count = 1 WHERE job_id = $2`, hostile, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.client.PauseQueue(context.Background(), hostile); err != nil {
		t.Fatal(err)
	}
	c := f.srv.Client()
	for _, page := range []string{"", "jobs", "jobs?queue=" + url.QueryEscape("="+hostile), "job?id=" + itoa(j.ID), "job?id=" + itoa(j.ID) + "&queue=" + url.QueryEscape(hostile), "periodic", "pools"} {
		status, body := get(t, c, f.base+page)
		if status != http.StatusOK {
			t.Errorf("%s: status %d\n%s", page, status, body)
			continue
		}
		if strings.Contains(body, "<script") {
			t.Errorf("%s: unescaped <script in the page", page)
		}
		if strings.Contains(body, f.dsn) || strings.Contains(body, "postgres://") {
			t.Errorf("%s: the connection string is in the page", page)
		}
		if page != "periodic" && page != "pools" && !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s: the hostile text is not shown escaped", page)
		}
	}
}

func TestReadOnlyByDefaultAndAuthorizer(t *testing.T) {
	f := newFixture(t)
	j := f.enqueue(&gue.Job{Type: "t", Queue: "q"})
	c := f.srv.Client()
	_, body := get(t, c, f.base+"job?id="+itoa(j.ID))
	if strings.Contains(body, "<form class=\"actions\"") || !strings.Contains(body, "read-only") {
		t.Error("a read-only dashboard shows actions")
	}
	resp, err := c.PostForm(f.base+"actions/delete", url.Values{"queue": {"q"}, "id": {itoa(j.ID)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || f.count(`SELECT count(*) FROM gue_jobs`) != 1 {
		t.Errorf("POST to a read-only dashboard: %d, jobs left %d", resp.StatusCode, f.count(`SELECT count(*) FROM gue_jobs`))
	}

	g := newFixture(t, gueui.WithActions(true), gueui.WithAuthorizer(func(r *http.Request) bool { return r.Header.Get("X-Admin") == "yes" }))
	if status, _ := get(t, g.srv.Client(), g.base); status != http.StatusForbidden {
		t.Errorf("unauthorized page: %d, want 403", status)
	}
	req, _ := http.NewRequest(http.MethodGet, g.base, nil)
	req.Header.Set("X-Admin", "yes")
	if resp, err := g.srv.Client().Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("authorized page: %v %v", resp, err)
	}
	// The prefix without its slash redirects to it.
	if resp, err := f.srv.Client().Get(f.srv.URL + "/admin/gue"); err != nil || resp.Request.URL.Path != "/admin/gue/" {
		t.Errorf("prefix without slash: %v %v", resp, err)
	}
}

// Every action needs the CSRF token of the page's cookie.
func TestActionsNeedTheCSRFToken(t *testing.T) {
	f := newFixture(t, gueui.WithActions(true))
	j := f.enqueue(&gue.Job{Type: "t", Queue: "q"})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(form url.Values) int {
		resp, err := c.PostForm(f.base+"actions/delete", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	form := url.Values{"queue": {"q"}, "id": {itoa(j.ID)}, "return": {"jobs"}}
	if s := post(form); s != http.StatusForbidden {
		t.Errorf("POST without a cookie: %d, want 403", s)
	}
	_, body := get(t, c, f.base+"job?id="+itoa(j.ID)) // sets the cookie
	form.Set("csrf", "wrong-token-wrong-token-wrong-token-x")
	if s := post(form); s != http.StatusForbidden {
		t.Errorf("POST with a wrong token: %d, want 403", s)
	}
	if f.count(`SELECT count(*) FROM gue_jobs`) != 1 {
		t.Fatal("a forged POST deleted the job")
	}
	i := strings.Index(body, `name="csrf" value="`)
	tok := body[i+len(`name="csrf" value="`):]
	tok = tok[:strings.Index(tok, `"`)]
	form.Set("csrf", tok)
	if s := post(form); s != http.StatusOK { // followed the redirect to the jobs page
		t.Errorf("POST with the token: %d", s)
	}
	if f.count(`SELECT count(*) FROM gue_jobs`) != 0 {
		t.Error("the job was not deleted")
	}
}

func TestTraceLink(t *testing.T) {
	f := newFixture(t, gueui.WithTraceURL("https://traces.example.com/trace/{trace_id}"))
	j := f.enqueue(&gue.Job{Type: "t", Metadata: map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
	_, body := get(t, f.srv.Client(), f.base+"job?id="+itoa(j.ID))
	if !strings.Contains(body, `href="https://traces.example.com/trace/4bf92f3577b34da6a3ce929d0e0e4736"`) {
		t.Error("no trace link")
	}
	k := f.enqueue(&gue.Job{Type: "t"})
	if _, body := get(t, f.srv.Client(), f.base+"job?id="+itoa(k.ID)); strings.Contains(body, "open the trace") {
		t.Error("a trace link for a job without traceparent")
	}
	if status, _ := get(t, f.srv.Client(), f.base+"job?id=99999"); status != http.StatusNotFound {
		t.Errorf("unknown job: %d, want 404", status)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
