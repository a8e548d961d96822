package gueui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	gue "github.com/gue-go/gue/core"
)

// maxBulk bounds the jobs of one bulk action (one page of the list).
const maxBulk = 1000

// action runs a POST: pause or resume a queue, or retry, delete or cancel
// one job or the jobs checked on a page. It answers with a redirect back to
// the page, carrying a message.
func (h *handler) action(w http.ResponseWriter, r *http.Request) {
	if !h.cfg.actions {
		http.Error(w, "the dashboard is read-only (gueui.WithActions enables actions)", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if err := checkCSRF(r); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	ctx, cancel := h.ctx(r)
	defer cancel()
	name := r.PathValue("action")
	var msg string
	switch name {
	case "pause", "resume":
		queue := r.PostFormValue("queue")
		var err error
		if name == "pause" {
			err = h.client.PauseQueue(ctx, queue)
		} else {
			err = h.client.ResumeQueue(ctx, queue)
		}
		if err != nil {
			h.fail(w, r, statusOf(err), err)
			return
		}
		msg = fmt.Sprintf("Queue %q %sd.", queue, name)
	case "retry", "delete", "cancel":
		refs, err := jobRefs(r)
		if err != nil {
			h.fail(w, r, http.StatusBadRequest, err)
			return
		}
		msg = h.onJobs(r, name, refs)
	default:
		http.NotFound(w, r)
		return
	}
	redirect(w, back(r, msg), http.StatusSeeOther)
}

// jobRefs reads the jobs of an action: "job" values (encoded references,
// from checkboxes) or one "queue" and "id".
func jobRefs(r *http.Request) ([]gue.JobRef, error) {
	var refs []gue.JobRef
	for _, v := range r.PostForm["job"] {
		ref, err := decodeRef(v)
		if err != nil {
			return nil, err
		}
		refs = append(refs, ref)
	}
	if id := r.PostFormValue("id"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad job ID %q", id)
		}
		refs = append(refs, gue.JobRef{Queue: r.PostFormValue("queue"), ID: n})
	}
	switch {
	case len(refs) == 0:
		return nil, errors.New("no job selected")
	case len(refs) > maxBulk:
		return nil, fmt.Errorf("%d jobs selected; at most %d at once", len(refs), maxBulk)
	}
	return refs, nil
}

// onJobs applies action name to refs and returns the message to show.
func (h *handler) onJobs(r *http.Request, name string, refs []gue.JobRef) string {
	ctx, cancel := h.ctx(r)
	defer cancel()
	res, err := h.client.ActOnJobs(ctx, gue.JobAction(name), refs, nil)
	if err != nil {
		return err.Error()
	}
	past := map[string]string{"retry": "retried", "delete": "deleted", "cancel": "cancelled"}[name]
	msg := fmt.Sprintf("%d job(s) %s.", res.Done, past)
	if res.Running > 0 {
		if name == "cancel" {
			msg += fmt.Sprintf(" %d running: their workers were asked to cancel them.", res.Running)
		} else {
			msg += fmt.Sprintf(" %d running, left alone.", res.Running)
		}
	}
	if res.Missing > 0 {
		msg += fmt.Sprintf(" %d no longer there.", res.Missing)
	}
	if res.Failed > 0 {
		msg += fmt.Sprintf(" %d failed: %v", res.Failed, res.FirstErr)
	}
	return msg
}
