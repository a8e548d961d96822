package gueui_test

import (
	"log"
	"net/http"

	"github.com/gue-go/gue/core/adapter"
	gueui "github.com/gue-go/gue/ui"
)

// pool is the application's pool through its driver adapter
// (pgxv5.NewConnPool, say).
var pool adapter.ConnPool

// Mount the dashboard under /admin/gue/ of the application's own mux, with
// actions (retry, delete, pause, cancel) for administrators only.
func ExampleNewHandler() {
	isAdmin := func(r *http.Request) bool { return r.Header.Get("X-Role") == "admin" } // the application's own check
	mux := http.NewServeMux()
	mux.Handle("/admin/gue/", http.StripPrefix("/admin/gue", gueui.NewHandler(pool,
		gueui.WithActions(true),
		gueui.WithAuthorizer(isAdmin),
	)))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}
