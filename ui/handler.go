// Package gueui is a web dashboard for a gue-go queue: queues with their
// counts, throughput and pause state, jobs by queue, type and state, a
// job's details, dead jobs (retried or deleted in bulk), periodic schedules
// and running pools.
//
// The handler is server-rendered HTML (html/template, assets embedded): it
// needs no JavaScript and no build step, and mounts under any path prefix:
//
//	mux.Handle("/admin/gue/", http.StripPrefix("/admin/gue", gueui.NewHandler(pool,
//		gueui.WithActions(true), gueui.WithAuthorizer(isAdmin))))
//
// It is read-only unless WithActions enables actions; every request passes
// WithAuthorizer's check; every action is a POST carrying a CSRF token;
// everything shown is escaped. It reads through the admin API of
// github.com/gue-go/gue/core and never locks a job row.
package gueui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// handler serves the dashboard.
type handler struct {
	cfg    config
	client *gue.Client
	pages  map[string]*template.Template
	static http.Handler
	mux    *http.ServeMux
}

// NewHandler returns the dashboard on pool (see the package documentation
// for mounting). Its pages read gue's tables in WithSchema's schema.
func NewHandler(pool adapter.ConnPool, opts ...Option) http.Handler {
	cfg := config{schema: "public", countCap: 1000, pageLength: 50}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = adapter.DefaultLogger()
	}
	h := &handler{cfg: cfg, client: gue.NewClient(pool, gue.WithClientSchema(cfg.schema), gue.WithClientLogger(cfg.logger))}
	h.pages = parsePages()
	sub, _ := fs.Sub(staticFS, "static")
	h.static = http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /{$}", h.overview)
	h.mux.HandleFunc("GET /jobs", h.jobs)
	h.mux.HandleFunc("GET /job", h.job)
	h.mux.HandleFunc("GET /periodic", h.periodic)
	h.mux.HandleFunc("GET /pools", h.pools)
	h.mux.Handle("GET /static/", h.static)
	h.mux.HandleFunc("POST /actions/{action}", h.action)
	return h
}

// ServeHTTP checks the authorizer, then serves the page or action.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cfg.authorize != nil && !h.cfg.authorize(r) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	if r.URL.Path == "" {
		// Mounted at "/admin/gue" and asked for it without the slash:
		// relative links need the slash.
		redirect(w, lastSegment(r.RequestURI)+"/", http.StatusMovedPermanently)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// lastSegment is the last path segment of a request URI, without query.
func lastSegment(uri string) string {
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	return path.Base(uri)
}

// csrfCookie is the double-submit token: a random value in a SameSite=Strict
// cookie that every form repeats in a hidden field.
const csrfCookie = "gueui_csrf"

// csrfToken returns the request's token, setting a new cookie when none.
func (h *handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	return tok
}

// crossOrigin refuses a request a browser sent from another origin: by
// Sec-Fetch-Site, or, from a browser too old to send it, by an Origin whose
// host is not the request's.
var crossOrigin = http.NewCrossOriginProtection()

// checkCSRF accepts a POST that a browser did not send from another origin
// and whose form token matches its cookie. The origin check is what stops a
// form posted from a site that could plant the cookie (a sibling subdomain
// can): such a site can make both values equal, but cannot make the browser
// name the dashboard's origin. The token covers clients that name no origin.
func checkCSRF(r *http.Request) error {
	if crossOrigin.Check(r) != nil {
		return errors.New("cross-site request")
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return errors.New("missing CSRF cookie: reload the page")
	}
	if subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		return errors.New("bad CSRF token: reload the page")
	}
	return nil
}

// ctx bounds a page's queries.
func (h *handler) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 15*time.Second)
}

// back returns a safe place to redirect to after an action: one of the
// dashboard's own pages, relative.
func back(r *http.Request, msg string) string {
	to := r.PostFormValue("return")
	u, err := url.Parse(to)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(to, "/") || strings.HasPrefix(to, "\\") || strings.Contains(to, "..") {
		to = "./"
	}
	if to == "" {
		to = "./"
	}
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	// Actions are at actions/<name>: the pages are one level up.
	return "../" + strings.TrimPrefix(to, "./") + sep + "msg=" + url.QueryEscape(msg)
}

// redirect answers with a relative Location, which the browser resolves
// against the URL it asked for. http.Redirect would resolve it against the
// request's path, from which http.StripPrefix removed the mount prefix.
func redirect(w http.ResponseWriter, location string, code int) {
	w.Header().Set("Location", location)
	w.WriteHeader(code)
}
