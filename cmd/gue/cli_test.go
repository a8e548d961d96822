package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gue-go/gue/conformance"
	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	pgxv5 "github.com/gue-go/gue/driver-pgxv5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The tests run the built binary, as an operator would, against real
// PostgreSQL (a database per test on the suite's server).

var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	conformance.Terminate()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

func gueBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "gue-cli"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "gue")
		if out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// db is one test's database.
type db struct {
	t    *testing.T
	dsn  string
	pool *pgxpool.Pool
}

func newDB(t *testing.T, migrate bool) *db {
	t.Helper()
	ctx := context.Background()
	adminDSN := conformance.ServerDSN(t)
	admin, err := pgxpool.New(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	d := &db{t: t, dsn: conformance.CreateDatabase(t, pgxv5.NewConnPool(admin), adminDSN)}
	if d.pool, err = pgxpool.New(ctx, d.dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.pool.Close)
	if migrate {
		if err := gue.Migrate(ctx, pgxv5.NewConnPool(d.pool), ""); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func (d *db) count(sql string, args ...any) int64 {
	d.t.Helper()
	var n int64
	if err := d.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		d.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

// gue runs the binary with args on d's database (nil: none) and stdin.
func (d *db) gue(stdin string, args ...string) result {
	d.t.Helper()
	return runGue(d.t, d.dsn, stdin, args...)
}

func runGue(t *testing.T, dsn, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(gueBinary(t), args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// want fails the test unless r exited with code.
func (r result) want(t *testing.T, code int, what string) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit code %d, want %d\nstdout: %s\nstderr: %s", what, r.code, code, r.stdout, r.stderr)
	}
	return r
}

func decode[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("output is not the JSON expected: %v\n%s", err, r.stdout)
	}
	return v
}

func TestBadConnection(t *testing.T) {
	r := runGue(t, "postgres://nobody:s3cret-pw@127.0.0.1:1/x?connect_timeout=5", "", "stats").want(t, 1, "unreachable server")
	if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines != 0 || !strings.HasPrefix(r.stderr, "gue: cannot connect") {
		t.Errorf("want one line starting with `gue: cannot connect`, got %q", r.stderr)
	}
	if strings.Contains(r.stderr+r.stdout, "s3cret-pw") {
		t.Error("the password was printed")
	}
	r = runGue(t, "postgres://a:s3cret-pw@host:notaport/x", "", "stats").want(t, 1, "bad URL")
	if strings.Contains(r.stderr, "s3cret-pw") || !strings.HasPrefix(r.stderr, "gue: bad database URL") {
		t.Errorf("bad URL: %q", r.stderr)
	}
	runGue(t, "", "", "stats").want(t, 2, "no database")
	runGue(t, "", "", "stats", "--no-such-flag").want(t, 2, "unknown flag")
	runGue(t, "", "", "no-such-command").want(t, 2, "unknown command")
	runGue(t, "", "", "show").want(t, 2, "show without ID")
}

func TestEveryCommandHasHelpWithExample(t *testing.T) {
	for _, cmd := range [][]string{{"migrate"}, {"migrate", "up"}, {"migrate", "status"}, {"migrate", "sql"}, {"stats"}, {"list"}, {"show"},
		{"enqueue"}, {"retry"}, {"cancel"}, {"delete"}, {"pause"}, {"resume"}, {"pools"}, {"periodic"}, {"doctor"}, {"bench"}, {"ui"}} {
		r := runGue(t, "", "", append(cmd, "--help")...).want(t, 0, strings.Join(cmd, " ")+" --help")
		if !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("gue %s --help has no example:\n%s", strings.Join(cmd, " "), r.stdout)
		}
	}
}

func TestMigrate(t *testing.T) {
	d := newDB(t, false)
	r := d.gue("", "migrate", "status").want(t, 3, "status before up")
	if !strings.Contains(r.stdout, "pending") || !strings.Contains(r.stderr, "gue migrate up") {
		t.Errorf("status before up: %s / %s", r.stdout, r.stderr)
	}
	if r := d.gue("", "migrate", "sql").want(t, 0, "sql"); !strings.Contains(r.stdout, "CREATE TABLE IF NOT EXISTS \"public\".gue_jobs") {
		t.Errorf("sql printed no CREATE TABLE:\n%.300s", r.stdout)
	}
	r = d.gue("", "migrate", "up").want(t, 0, "up")
	if !strings.Contains(r.stdout, "applied 0001_create_gue_jobs") {
		t.Errorf("up: %s", r.stdout)
	}
	ms := decode[[]gue.MigrationInfo](t, d.gue("", "migrate", "status", "--json").want(t, 0, "status after up"))
	if len(ms) < 7 {
		t.Fatalf("%d migrations", len(ms))
	}
	for _, m := range ms {
		if !m.Applied || m.AppliedAt == nil {
			t.Errorf("migration %d not applied", m.Version)
		}
	}
	d.gue("", "migrate", "up").want(t, 0, "up again")
	if r := d.gue("", "migrate", "sql").want(t, 0, "sql when up to date"); r.stdout != "" {
		t.Errorf("sql with nothing pending printed %q", r.stdout)
	}
	if r := runGue(t, "", "", "migrate", "sql", "--schema", `we"ird`); r.code != 0 || !strings.Contains(r.stdout, `"we""ird".gue_jobs`) {
		t.Errorf("sql without a database for a quoted schema: %d %.200s", r.code, r.stdout)
	}
}

func TestEnqueueListShowStats(t *testing.T) {
	d := newDB(t, true)
	one := decode[struct{ ID int64 }](t, d.gue("", "enqueue", "--type", "Send", "--queue", "emails", "--args", `{"to":"<a@b>"}`,
		"--metadata", "k=v", "--json").want(t, 0, "enqueue one"))
	d.gue("", "enqueue", "--type", "Send", "--args", `{not json`).want(t, 1, "bad args")
	d.gue("", "enqueue", "--type", "Send", "--stdin").want(t, 2, "both modes")
	// Chunks of 2: lines 1–2 written, 3 (malformed) sinks 3–4, 5–6 written.
	ndjson := `{"type":"Resize","queue":"img","args":{"id":1}}
{"type":"Resize","queue":"img","args":{"id":2},"priority":5}
{"type":"Resize","queue":"img","args":{"id":3}
{"type":"Resize","queue":"img","args":{"id":4}}

{"type":"Resize","queue":"img","run_at":"2030-01-01T00:00:00Z"}
{"type":"Resize","queue":"img","unique_key":"u1"}
`
	r := d.gue(ndjson, "enqueue", "--stdin", "--chunk", "2").want(t, 1, "NDJSON with a malformed line")
	if !strings.Contains(r.stderr, "line 3:") || !strings.Contains(r.stderr, "lines 3–4 not written") || !strings.Contains(r.stdout, "enqueued 4 job(s)") {
		t.Errorf("NDJSON report:\nstdout %s\nstderr %s", r.stdout, r.stderr)
	}
	if n := d.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'img'`); n != 4 {
		t.Errorf("%d img jobs, want 4", n)
	}
	if n := d.count(`SELECT count(*) FROM gue_jobs WHERE args::text LIKE '%"id": 3%' OR args::text LIKE '%"id":3%' OR args::text LIKE '%"id":4%'`); n != 0 {
		t.Error("a job of the malformed chunk was written")
	}

	type stats struct {
		Queues []map[string]any `json:"queues"`
	}
	s := decode[stats](t, d.gue("", "stats", "--json").want(t, 0, "stats"))
	if len(s.Queues) != 2 {
		t.Fatalf("stats: %+v", s)
	}
	img := s.Queues[1]
	for _, k := range []string{"queue", "ready", "scheduled", "retrying", "dead", "running", "paused"} {
		if _, ok := img[k]; !ok {
			t.Errorf("stats JSON lacks %q: %v", k, img)
		}
	}
	if img["queue"] != "img" || img["ready"] != 3.0 || img["scheduled"] != 1.0 || img["paused"] != false {
		t.Errorf("img stats: %v", img)
	}
	if r := d.gue("", "stats").want(t, 0, "stats table"); !strings.Contains(r.stdout, "READY") || !strings.Contains(r.stdout, "img") {
		t.Errorf("stats table:\n%s", r.stdout)
	}
	if r := d.gue("", "stats", "--queue", "nope").want(t, 1, "unknown queue"); !strings.Contains(r.stderr, `unknown queue "nope"`) {
		t.Errorf("unknown queue: %s", r.stderr)
	}

	type page struct {
		Jobs []gue.JobInfo `json:"jobs"`
		Next string        `json:"next"`
	}
	p1 := decode[page](t, d.gue("", "list", "--limit", "3", "--json").want(t, 0, "list page 1"))
	p2 := decode[page](t, d.gue("", "list", "--limit", "3", "--after", p1.Next, "--json").want(t, 0, "list page 2"))
	if len(p1.Jobs) != 3 || p1.Next == "" || len(p2.Jobs) != 2 || p2.Next != "" {
		t.Errorf("pages of 3 over 5 jobs: %d (next %q), %d (next %q)", len(p1.Jobs), p1.Next, len(p2.Jobs), p2.Next)
	}
	sched := decode[page](t, d.gue("", "list", "--queue", "img", "--state", "scheduled", "--json").want(t, 0, "list scheduled"))
	if len(sched.Jobs) != 1 || sched.Jobs[0].State != gue.StateScheduled {
		t.Errorf("scheduled jobs: %+v", sched.Jobs)
	}
	d.gue("", "list", "--state", "lost").want(t, 2, "bad state")
	d.gue("", "list", "--after", "garbage!").want(t, 2, "bad cursor")

	j := decode[gue.JobInfo](t, d.gue("", "show", fmt.Sprint(one.ID), "--json").want(t, 0, "show"))
	var args map[string]string
	if err := json.Unmarshal(j.Args, &args); err != nil || j.Queue != "emails" || j.Metadata["k"] != "v" || args["to"] != "<a@b>" {
		t.Errorf("show: %+v", j)
	}
	if r := d.gue("", "show", fmt.Sprint(one.ID)).want(t, 0, "show table"); !strings.Contains(r.stdout, `"to": "<a@b>"`) {
		t.Errorf("show table:\n%s", r.stdout)
	}
	d.gue("", "show", "999999").want(t, 1, "show unknown ID")
	d.gue("", "show", "abc").want(t, 2, "show bad ID")
}

func TestActions(t *testing.T) {
	d := newDB(t, true)
	ctx := context.Background()
	c := gue.NewClient(pgxv5.NewConnPool(d.pool))
	var ids []int64
	for i := range 5 {
		j := &gue.Job{Type: "t", Queue: "q", RunAt: time.Now().Add(time.Duration(i+1) * time.Hour)}
		if err := c.Enqueue(ctx, j); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	d.gue("", "cancel", fmt.Sprint(ids[0])).want(t, 0, "cancel one")
	d.gue("", "cancel", fmt.Sprint(ids[1]), "--queue", "q").want(t, 0, "cancel one with its queue")
	if n := d.count(`SELECT count(*) FROM gue_jobs_dead`); n != 2 {
		t.Fatalf("%d dead jobs after two cancels", n)
	}
	d.gue("", "retry", fmt.Sprint(ids[0])).want(t, 0, "retry a dead job")
	d.gue("", "retry", fmt.Sprint(ids[2])).want(t, 0, "retry a scheduled job")
	if n := d.count(`SELECT count(*) FROM gue_jobs WHERE run_at <= now()`); n != 2 {
		t.Errorf("%d ready jobs after two retries, want 2", n)
	}
	d.gue("", "delete", "424242").want(t, 1, "delete an unknown job")
	d.gue("", "delete", fmt.Sprint(ids[3]), "--state", "dead").want(t, 2, "an ID with a filter")

	r := d.gue("", "delete", "--queue", "q", "--state", "scheduled").want(t, 4, "delete by filter without --yes")
	if !strings.Contains(r.stderr, "2 job(s) match; pass --yes") {
		t.Errorf("refusal: %s", r.stderr)
	}
	if n := d.count(`SELECT count(*) FROM gue_jobs`); n != 4 {
		t.Fatalf("refused delete deleted: %d jobs left", n)
	}
	r = d.gue("", "delete", "--queue", "q", "--state", "scheduled", "--yes").want(t, 0, "delete by filter")
	if !strings.Contains(r.stdout, "2 job(s) deleted") || d.count(`SELECT count(*) FROM gue_jobs`) != 2 {
		t.Errorf("delete by filter: %s", r.stdout)
	}
	d.gue("", "retry", "--state", "dead", "--queue", "nope", "--yes").want(t, 1, "unknown queue")

	d.gue("", "pause", "q").want(t, 0, "pause")
	if n := d.count(`SELECT count(*) FROM gue_queues_paused WHERE queue = 'q'`); n != 1 {
		t.Error("pause wrote no row")
	}
	d.gue("", "resume", "q").want(t, 0, "resume")
	if n := d.count(`SELECT count(*) FROM gue_queues_paused`); n != 0 {
		t.Error("resume left the row")
	}
	if r := d.gue("", "pause", "brand-new").want(t, 0, "pause a queue with no jobs"); !strings.Contains(r.stderr, "no jobs") {
		t.Errorf("pause of an unknown queue says nothing: %q", r.stderr)
	}
}

func TestDoctor(t *testing.T) {
	d := newDB(t, false)
	r := d.gue("", "doctor", "--json").want(t, 3, "doctor before migrate")
	type checks struct {
		Checks []struct{ Name, Status, Detail, Advice string } `json:"checks"`
	}
	cs := decode[checks](t, r)
	if len(cs.Checks) != 9 || cs.Checks[0].Name != "migrations" || cs.Checks[0].Status != "fail" || cs.Checks[0].Advice == "" {
		t.Fatalf("doctor before migrate: %+v", cs)
	}
	d.gue("", "migrate", "up").want(t, 0, "migrate")
	cs = decode[checks](t, d.gue("", "doctor", "--json", "--job-timeout", "1m").want(t, 0, "doctor after migrate"))
	for _, c := range cs.Checks {
		if c.Status == "fail" || c.Detail == "" {
			t.Errorf("check %s: %s %s", c.Name, c.Status, c.Detail)
		}
		if c.Name == "LISTEN/NOTIFY" && c.Status != "ok" {
			t.Errorf("LISTEN does work on a plain server: %+v", c)
		}
		if c.Name == "pooler" && (c.Status != "ok" || !strings.Contains(c.Detail, "two server sessions")) {
			t.Errorf("no pooler before a plain server: %+v", c)
		}
		if c.Name == "session locks" && (c.Status != "ok" || !strings.Contains(c.Detail, "at most")) {
			t.Errorf("session locks on a plain server: %+v", c)
		}
	}
	// A role that cannot write the tables fails the privileges check.
	if _, err := d.pool.Exec(context.Background(), `DROP ROLE IF EXISTS gue_reader; CREATE ROLE gue_reader LOGIN PASSWORD 'pw';
GRANT USAGE ON SCHEMA public TO gue_reader; GRANT SELECT ON ALL TABLES IN SCHEMA public TO gue_reader`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = d.pool.Exec(context.Background(), `DROP OWNED BY gue_reader; DROP ROLE IF EXISTS gue_reader`)
	})
	cfg := d.pool.Config().ConnConfig
	reader := fmt.Sprintf("postgres://gue_reader:pw@%s:%d/%s?sslmode=disable", cfg.Host, cfg.Port, cfg.Database)
	r = runGue(t, reader, "", "doctor").want(t, 3, "doctor as a read-only role")
	if !strings.Contains(r.stdout, "FAIL  privileges") {
		t.Errorf("doctor as a read-only role:\n%s", r.stdout)
	}
}

func TestBenchUsesAScratchSchema(t *testing.T) {
	d := newDB(t, false)
	r := d.gue("", "bench", "--jobs", "500", "--workers", "4").want(t, 0, "bench")
	if !strings.Contains(r.stdout, "enqueue: 500 jobs") || !strings.Contains(r.stdout, "work:    500 jobs") || !strings.Contains(r.stdout, "jobs/s") {
		t.Errorf("bench output:\n%s", r.stdout)
	}
	if n := d.count(`SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'gue_bench_%'`); n != 0 {
		t.Errorf("%d scratch schemas left", n)
	}
	d.gue("", "bench", "--batch", "-1").want(t, 2, "bad flag value")
}

func TestPoolsAndPeriodic(t *testing.T) {
	d := newDB(t, true)
	ctx := context.Background()
	c := gue.NewClient(pgxv5.NewConnPool(d.pool))
	if err := c.Enqueue(ctx, &gue.Job{Type: "slow", Queue: "work"}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	p := gue.NewWorkerPool(c, gue.WorkMap{"slow": func(*gue.Job) error { <-release; return nil }}, 2,
		gue.WithPoolQueue("work"), gue.WithPoolID("cli-pool"), gue.WithPoolPollInterval(20*time.Millisecond))
	pctx, stop := context.WithCancel(ctx)
	stopped := make(chan error)
	go func() { stopped <- p.Run(pctx) }()
	defer func() {
		stop()
		if err := <-stopped; err != nil {
			t.Error(err)
		}
	}()
	defer close(release)
	type pools struct {
		Pools []gue.PoolInfo `json:"pools"`
	}
	deadline := time.Now().Add(time.Minute)
	var got pools
	for {
		got = decode[pools](t, d.gue("", "pools", "--json").want(t, 0, "pools"))
		if len(got.Pools) == 1 && len(got.Pools[0].InFlight) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pool never showed its job in flight: %+v", got)
		}
		time.Sleep(200 * time.Millisecond) // the pool's heartbeat is the only signal
	}
	if got.Pools[0].ID != "cli-pool" || got.Pools[0].Queues[0] != "work" {
		t.Errorf("pools: %+v", got)
	}
	if r := d.gue("", "pools").want(t, 0, "pools table"); !strings.Contains(r.stdout, "cli-pool") {
		t.Errorf("pools table:\n%s", r.stdout)
	}
	s := decode[struct{ Queues []gue.QueueStats }](t, d.gue("", "stats", "--json", "--queue", "work").want(t, 0, "stats"))
	if len(s.Queues) != 1 || s.Queues[0].Running != 1 || s.Queues[0].Ready != 0 {
		t.Errorf("stats with a running job: %+v", s)
	}

	if _, err := d.pool.Exec(ctx, `INSERT INTO gue_periodic (name, next_run_at) VALUES ('nightly', '2030-01-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	list := decode[struct{ Periodic []gue.PeriodicJob }](t, d.gue("", "periodic", "list", "--json").want(t, 0, "periodic list"))
	if len(list.Periodic) != 1 || list.Periodic[0].Name != "nightly" {
		t.Errorf("periodic list: %+v", list)
	}
	d.gue("", "periodic", "delete", "nightly").want(t, 0, "periodic delete")
	d.gue("", "periodic", "delete", "nightly").want(t, 1, "periodic delete again")
}

func TestUIServesTheDashboard(t *testing.T) {
	d := newDB(t, true)
	cmd := exec.Command(gueBinary(t), "ui", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+d.dsn, "GUE_UI_PASSWORD=pw-123")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no address printed: %v (%s)", err, errOut.String())
	}
	url := strings.Fields(line)[2] // "dashboard on http://…/ (Ctrl-C to stop)"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the password: %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.SetBasicAuth("gue", "pw-123")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<h1>Queues</h1>") {
		t.Errorf("with the password: %d\n%.300s", resp.StatusCode, body)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("gue ui after SIGINT: %v", err)
	}
}

// The CLI behind PgBouncer in transaction mode, with pgx told to use the
// simple protocol in the URL (docs/cli.md): jobs are enqueued, listed,
// counted, paused and resumed; and doctor says that LISTEN does not get
// through (control: TestDoctor, where it does).
func TestThroughPgBouncer(t *testing.T) {
	d := newDB(t, true)
	var via string
	open := conformance.ThroughPgBouncer(t, func(t *testing.T, dsn string) adapter.ConnPool {
		via = dsn
		p, err := pgxpool.New(context.Background(), dsn) // connects on first use
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return pgxv5.NewConnPool(p)
	})
	open(t, d.dsn)
	u, err := url.Parse(via)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("default_query_exec_mode", "simple_protocol")
	u.RawQuery = q.Encode()
	dsn := u.String()
	for i := range 3 {
		runGue(t, dsn, "", "enqueue", "--type", "Send", "--queue", "mail", "--args", fmt.Sprintf(`{"n":%d}`, i)).want(t, 0, "enqueue through PgBouncer")
	}
	if n := d.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'mail'`); n != 3 {
		t.Fatalf("%d jobs enqueued through PgBouncer, want 3", n)
	}
	if r := runGue(t, dsn, "", "list", "--queue", "mail").want(t, 0, "list through PgBouncer"); strings.Count(r.stdout, "Send") != 3 {
		t.Errorf("list through PgBouncer:\n%s", r.stdout)
	}
	runGue(t, dsn, "", "pause", "mail").want(t, 0, "pause through PgBouncer")
	if n := d.count(`SELECT count(*) FROM gue_queues_paused WHERE queue = 'mail'`); n != 1 {
		t.Error("pause through PgBouncer did not pause")
	}
	runGue(t, dsn, "", "resume", "mail").want(t, 0, "resume through PgBouncer")
	if r := runGue(t, dsn, "", "stats", "--json").want(t, 0, "stats through PgBouncer"); !strings.Contains(r.stdout, `"ready":3,`) {
		t.Errorf("stats through PgBouncer:\n%s", r.stdout)
	}
	type checks struct {
		Checks []struct{ Name, Status, Detail, Advice string } `json:"checks"`
	}
	cs := decode[checks](t, runGue(t, dsn, "", "doctor", "--json"))
	found := 0
	for _, c := range cs.Checks {
		switch c.Name {
		case "LISTEN/NOTIFY":
			found++
			if c.Status != "warn" || !strings.Contains(c.Detail, "pooler") {
				t.Errorf("doctor through PgBouncer: %+v; want a warning naming the pooler", c)
			}
		case "pooler":
			found++
			if c.Status != "warn" || !strings.Contains(c.Detail, "one server session") {
				t.Errorf("doctor through PgBouncer: %+v; want the shared server session found", c)
			}
		case "session locks":
			found++
			if c.Status != "warn" || !strings.Contains(c.Detail, "see pooler") || !strings.Contains(c.Advice, "direct connection") {
				t.Errorf("doctor through PgBouncer: %+v; want session locks warned of", c)
			}
		}
	}
	if found != 3 {
		t.Errorf("doctor through PgBouncer lacks the pooler, LISTEN or session locks check: %+v", cs)
	}
}
