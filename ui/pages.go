package gueui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	CSRF    string
	Actions bool
	Msg     string
	Return  string // this page, relative, for actions to come back to
	Data    any
}

var funcs = template.FuncMap{
	"count": func(n, limit int64) string {
		s := strconv.FormatInt(n, 10)
		if limit > 0 && n >= limit {
			return s + "+"
		}
		return s
	},
	"age": func(d time.Duration) string {
		switch {
		case d <= 0:
			return "–"
		case d < time.Second:
			return d.Round(time.Millisecond).String()
		}
		return d.Round(time.Second).String()
	},
	"since": func(t time.Time) string { return time.Since(t).Round(time.Second).String() + " ago" },
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"queue": func(q string) string {
		if q == "" {
			return `"" (default)`
		}
		return q
	},
	"ref":  func(q string, id int64) string { return encodeRef(gue.JobRef{Queue: q, ID: id}) },
	"clip": clip,
	"jobURL": func(q string, id int64) string {
		return "job?" + url.Values{"queue": {q}, "id": {strconv.FormatInt(id, 10)}}.Encode()
	},
	"queueURL": func(q, state string) string {
		v := url.Values{"queue": {"=" + q}}
		if state != "" {
			v.Set("state", state)
		}
		return "jobs?" + v.Encode()
	},
}

func parsePages() map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, name := range []string{"overview", "jobs", "job", "periodic", "pools", "error"} {
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

// render writes page name; a template error is logged and answered 500.
func (h *handler) render(w http.ResponseWriter, r *http.Request, name, nav, title string, data any) {
	p := page{Title: title, Nav: nav, CSRF: h.csrfToken(w, r), Actions: h.cfg.actions, Msg: r.URL.Query().Get("msg"), Data: data}
	p.Return = strings.TrimPrefix(r.URL.Path, "/")
	if q := r.URL.Query(); len(q) > 0 {
		q.Del("msg")
		if enc := q.Encode(); enc != "" {
			p.Return += "?" + enc
		}
	}
	var buf bytes.Buffer
	if err := h.pages[name].Execute(&buf, p); err != nil {
		h.cfg.logger.Error("gueui: rendering a page failed", adapter.Err(err), adapter.F("page", name))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// statusOf is the status of a failed read or action: what the request
// asked for is wrong (400: a queue or type with a NUL byte or invalid UTF-8,
// which no job can have), missing (404), or the dashboard failed (500).
func statusOf(err error) int {
	switch {
	case errors.Is(err, gue.ErrInvalidType):
		return http.StatusBadRequest
	case errors.Is(err, gue.ErrJobNotFound):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// fail shows an error page; the error's text is escaped like everything.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status >= 500 {
		h.cfg.logger.Error("gueui: request failed", adapter.Err(err), adapter.F("path", r.URL.Path))
	}
	w.WriteHeader(status)
	h.render(w, r, "error", "", "Error", err.Error())
}

// overviewData is the overview page's.
type overviewData struct {
	Queues []gue.QueueStats
	Cap    int64
	Chart  chart
	Pools  int
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	stats, err := h.client.Stats(ctx, gue.StatsOptions{Cap: h.cfg.countCap})
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	tp, err := h.client.Throughput(ctx, time.Hour)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	pools, err := h.client.Pools(ctx)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	h.render(w, r, "overview", "overview", "Queues", overviewData{Queues: stats, Cap: h.cfg.countCap, Chart: newChart(tp, time.Now()), Pools: len(pools)})
}

// jobsData is the jobs page's.
type jobsData struct {
	Queues   []string
	Queue    string
	QueueSet bool
	Type     string
	State    string
	States   []string
	Jobs     []gue.JobInfo
	Next     string
	Bulk     bool // checkboxes for retry/delete in bulk
}

func (h *handler) jobs(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	q := r.URL.Query()
	state, err := gue.ParseJobState(q.Get("state"))
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err)
		return
	}
	f := gue.JobFilter{Type: q.Get("type"), State: state, Limit: h.cfg.pageLength}
	// "queue" is "=" and the name ("" is a queue of its own); absent or
	// empty: every queue.
	if v, ok := strings.CutPrefix(q.Get("queue"), "="); ok {
		f.Queue, f.QueueSet = v, true
	}
	if a := q.Get("after"); a != "" {
		ref, err := decodeRef(a)
		if err != nil {
			h.fail(w, r, http.StatusBadRequest, err)
			return
		}
		f.After = &ref
	}
	page, err := h.client.ListJobs(ctx, f)
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	queues, err := h.client.Queues(ctx)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	d := jobsData{Queues: queues, Queue: f.Queue, QueueSet: f.QueueSet, Type: f.Type, State: string(state), Jobs: page.Jobs,
		States: []string{"ready", "running", "scheduled", "retrying", "dead"}, Bulk: h.cfg.actions && len(page.Jobs) > 0}
	if page.Next != nil {
		next := url.Values{}
		for k, v := range q {
			if k != "after" && k != "msg" {
				next[k] = v
			}
		}
		next.Set("after", encodeRef(*page.Next))
		d.Next = "jobs?" + next.Encode()
	}
	title, nav := "Jobs", "jobs"
	if state == gue.StateDead {
		title, nav = "Dead jobs", "dead"
	}
	h.render(w, r, "jobs", nav, title, d)
}

// jobData is the job page's.
type jobData struct {
	Job      *gue.JobInfo
	Args     string
	Metadata [][2]string
	TraceURL string
}

func (h *handler) job(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	q := r.URL.Query()
	id, err := strconv.ParseInt(q.Get("id"), 10, 64)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, fmt.Errorf("bad job ID %q", q.Get("id")))
		return
	}
	var j *gue.JobInfo
	if q.Has("queue") {
		j, err = h.client.GetJob(ctx, q.Get("queue"), id)
	} else {
		j, err = h.client.FindJob(ctx, id)
	}
	if err != nil {
		h.fail(w, r, statusOf(err), err)
		return
	}
	d := jobData{Job: j}
	var pretty bytes.Buffer
	if json.Indent(&pretty, j.Args, "", "  ") == nil {
		d.Args = pretty.String()
	} else {
		d.Args = string(j.Args)
	}
	for k, v := range j.Metadata {
		d.Metadata = append(d.Metadata, [2]string{k, v})
	}
	sort.Slice(d.Metadata, func(a, b int) bool { return d.Metadata[a][0] < d.Metadata[b][0] })
	if tid := traceID(j.Metadata["traceparent"]); tid != "" && h.cfg.traceURL != "" {
		d.TraceURL = strings.ReplaceAll(h.cfg.traceURL, "{trace_id}", tid)
	}
	h.render(w, r, "job", "jobs", fmt.Sprintf("Job %d", j.ID), d)
}

// traceID returns the trace ID of a W3C traceparent, "" if it is not one.
func traceID(tp string) string {
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || len(parts[1]) != 32 || strings.Trim(parts[1], "0123456789abcdef") != "" || strings.Trim(parts[1], "0") == "" {
		return ""
	}
	return parts[1]
}

func (h *handler) periodic(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	ps, err := h.client.ListPeriodic(ctx)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	h.render(w, r, "periodic", "periodic", "Periodic jobs", ps)
}

func (h *handler) pools(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	ps, err := h.client.Pools(ctx)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	h.render(w, r, "pools", "pools", "Worker pools", ps)
}

func encodeRef(r gue.JobRef) string { return r.Cursor() }

func decodeRef(s string) (gue.JobRef, error) { return gue.ParseCursor(s) }

// clip shortens s to n runes with an ellipsis.
func clip(n int, s string) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
