package gueui_test

import (
	"bytes"
	"encoding/base64"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gue-go/gue/core/adapter"
	gueui "github.com/gue-go/gue/ui"

	gue "github.com/gue-go/gue/core"
)

// syncBuffer is a log sink the handler's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A NUL byte or invalid UTF-8 in a parameter is the request's fault: 400
// with a message, and nothing logged at ERROR.
func TestBadBytesAnswer400(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, gueui.WithActions(true), gueui.WithLogger(adapter.NewStdLogger(log.New(&logs, "", 0))))
	j := f.enqueue(&gue.Job{Type: "t", Queue: "q"})
	cursor := func(queue string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(`{"queue":"` + queue + `","id":1}`))
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	for _, page := range []string{
		"jobs?queue=%3Da%00b",
		"jobs?queue=%3Dcaf%E9",
		"jobs?type=a%00b",
		"jobs?type=caf%E9",
		"jobs?after=" + cursor(`a\u0000b`),
		"job?id=" + itoa(j.ID) + "&queue=a%00b",
		"job?id=" + itoa(j.ID) + "&queue=caf%E9",
	} {
		status, body := get(t, c, f.base+page)
		if status != http.StatusBadRequest || !strings.Contains(body, "UTF-8") {
			t.Errorf("%s: status %d, want 400 with a message\n%s", page, status, body)
		}
	}
	// The control: the same pages with good values answer 200.
	for _, page := range []string{"jobs?queue=%3Dq", "jobs?type=t", "jobs?after=" + cursor("a"), "job?id=" + itoa(j.ID) + "&queue=q"} {
		if status, body := get(t, c, f.base+page); status != http.StatusOK {
			t.Errorf("%s: status %d, want 200\n%s", page, status, body)
		}
	}

	_, body := get(t, c, f.base+"jobs") // sets the CSRF cookie
	tok := csrfOf(t, body)
	for _, form := range []url.Values{
		{"queue": {"a\x00b"}},
		{"queue": {"caf\xe9"}},
	} {
		form.Set("csrf", tok)
		resp, err := c.PostForm(f.base+"actions/pause", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("pause %q: status %d, want 400", form.Get("queue"), resp.StatusCode)
		}
	}
	if strings.Contains(logs.String(), "error ") {
		t.Errorf("bad input was logged as an error:\n%s", logs.String())
	}
}

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `name="csrf" value="`)
	if i < 0 {
		t.Fatal("no CSRF field in the page")
	}
	tok := body[i+len(`name="csrf" value="`):]
	return tok[:strings.Index(tok, `"`)]
}

// A cookie planted by another site (a sibling subdomain can set one) does
// not let that site's form post: a browser names the form's origin, in
// Sec-Fetch-Site or, in older browsers, in Origin.
func TestPlantedCSRFCookieFromAnotherSite(t *testing.T) {
	f := newFixture(t, gueui.WithActions(true))
	j := f.enqueue(&gue.Job{Type: "t", Queue: "q"})
	const planted = "planted-by-the-attacker-planted-by-the-attacker"
	post := func(header http.Header) int {
		form := url.Values{"queue": {"q"}, "id": {itoa(j.ID)}, "csrf": {planted}}
		req, _ := http.NewRequest(http.MethodPost, f.base+"actions/delete", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "gueui_csrf", Value: planted})
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, h := range []http.Header{
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Sec-Fetch-Site": {"same-site"}},
		{"Origin": {"https://evil.example.com"}},
	} {
		if s := post(h); s != http.StatusForbidden {
			t.Errorf("a cross-site POST with a planted cookie (%v): %d, want 403", h, s)
		}
	}
	if n := f.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'q'`); n != 1 {
		t.Fatal("a cross-site POST deleted the job")
	}
	// The control: the dashboard's own origin, with a token matching its
	// cookie, is allowed (a redirect back to the page).
	if s := post(http.Header{"Origin": {strings.TrimSuffix(f.srv.URL, "/")}}); s != http.StatusSeeOther {
		t.Errorf("a same-origin POST: %d, want 303", s)
	}
	if n := f.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'q'`); n != 0 {
		t.Error("the same-origin POST did not delete the job")
	}
}
