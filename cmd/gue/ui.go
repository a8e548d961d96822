package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	gueui "github.com/gue-go/gue/ui"
	"github.com/spf13/cobra"
)

func (a *app) uiCommand() *cobra.Command {
	var addr, traceURL string
	var actions bool
	c := &cobra.Command{
		Use:   "ui",
		Short: "Serve the web dashboard (read-only unless --actions)",
		Long: `Serve the web dashboard on --addr: queues with counts, throughput and pause state,
jobs by queue, type and state, job details, dead jobs, periodic schedules and
pools. It is read-only unless --actions enables retry, delete, cancel, pause and
resume. When GUE_UI_PASSWORD is set, every request needs HTTP basic auth with
user "gue" and that password; without it, keep --addr on a loopback address
(the default) or behind your own proxy's authentication.`,
		Example: `  gue ui
  GUE_UI_PASSWORD=s3cret gue ui --addr :8080 --actions --trace-url 'https://jaeger.example.com/trace/{trace_id}'`,
		Args: exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			opts := []gueui.Option{gueui.WithSchema(a.schema), gueui.WithActions(actions)}
			if traceURL != "" {
				opts = append(opts, gueui.WithTraceURL(traceURL))
			}
			password := os.Getenv("GUE_UI_PASSWORD")
			if password != "" {
				opts = append(opts, gueui.WithAuthorizer(func(r *http.Request) bool {
					u, p, ok := r.BasicAuth()
					return ok && u == "gue" && subtle.ConstantTimeCompare([]byte(p), []byte(password)) == 1
				}))
			}
			h := gueui.NewHandler(a.pool, opts...)
			if password != "" {
				h = askForPassword(h)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %v", addr, err)
			}
			if host, _, _ := net.SplitHostPort(ln.Addr().String()); password == "" && !net.ParseIP(host).IsLoopback() {
				fmt.Fprintf(a.errOut, "warning: serving on %s without GUE_UI_PASSWORD: anyone who reaches it sees the queue\n", ln.Addr())
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
			fmt.Fprintf(a.out, "dashboard on http://%s/ (Ctrl-C to stop)\n", ln.Addr())
			go func() {
				<-c.Context().Done()
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(sctx)
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	c.Flags().BoolVar(&actions, "actions", false, "enable actions: retry, delete, cancel, pause, resume")
	c.Flags().StringVar(&traceURL, "trace-url", "", "link jobs to their trace: a URL with {trace_id}")
	return c
}

// askForPassword turns the dashboard's 403 for a request without the
// password into a 401 that makes a browser ask for it.
func askForPassword(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="gue"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
