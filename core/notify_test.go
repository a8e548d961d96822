package gue

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/wake"
)

// flakyListener fails its first fails calls of Listen, then gives a
// connection that reports the first notification wait as a lost
// connection (lost of them) and blocks after that.
type flakyListener struct {
	mu          sync.Mutex
	fails, lost int
	calls       int
	listening   chan struct{} // closed by the first wait that blocks
}

var errUnreachable = errors.New("dial tcp: i/o timeout")

func (f *flakyListener) Listen(ctx context.Context, _ string) (adapter.ListenConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.fails {
		return nil, errUnreachable
	}
	return flakyConn{f}, nil
}

type flakyConn struct{ f *flakyListener }

func (c flakyConn) WaitForNotification(ctx context.Context) (string, error) {
	c.f.mu.Lock()
	if c.f.lost > 0 {
		c.f.lost--
		c.f.mu.Unlock()
		return "", errUnreachable
	}
	c.f.mu.Unlock()
	select {
	case <-c.f.listening:
	default:
		close(c.f.listening)
	}
	<-ctx.Done()
	return "", ctx.Err()
}

func (flakyConn) Close(context.Context) error { return nil }

// levelLogger records the messages of each level.
type levelLogger struct {
	mu                  *sync.Mutex
	debug, info, errors *[]string
}

func newLevelLogger() levelLogger {
	return levelLogger{mu: &sync.Mutex{}, debug: &[]string{}, info: &[]string{}, errors: &[]string{}}
}

func (l levelLogger) add(to *[]string, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*to = append(*to, msg)
}
func (l levelLogger) Debug(msg string, _ ...adapter.Field) { l.add(l.debug, msg) }
func (l levelLogger) Info(msg string, _ ...adapter.Field)  { l.add(l.info, msg) }
func (l levelLogger) Error(msg string, _ ...adapter.Field) { l.add(l.errors, msg) }
func (l levelLogger) With(...adapter.Field) adapter.Logger { return l }

// An outage of LISTEN is logged once when it begins and once when LISTEN
// works again, however many retries fail in between (a network partition
// lasts as long as it lasts): the retries are Debug. Control: a lost
// connection is an outage of its own, logged again.
func TestListenLogsAnOutageOnce(t *testing.T) {
	f := &flakyListener{fails: 2, lost: 1, listening: make(chan struct{})}
	log := newLevelLogger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		listen(ctx, f, "public", nil, wake.NewSignal(), nil, make(chan struct{}, 1), log)
	}()
	select {
	case <-f.listening:
	case <-time.After(30 * time.Second):
		t.Fatal("listen never got a working connection")
	}
	cancel()
	<-done
	log.mu.Lock()
	defer log.mu.Unlock()
	// Tries: fail, fail (Debug), works (Info), lost (Error), works (Info).
	wantErrors := []string{"could not LISTEN; polling until it can", "LISTEN connection lost; polling until it is back"}
	if len(*log.errors) != len(wantErrors) || (*log.errors)[0] != wantErrors[0] || (*log.errors)[1] != wantErrors[1] {
		t.Errorf("errors logged: %q; want %q", *log.errors, wantErrors)
	}
	if len(*log.debug) != 1 {
		t.Errorf("debug messages: %q; want the one retry that failed again", *log.debug)
	}
	if len(*log.info) != 2 {
		t.Errorf("info messages: %q; want LISTEN works again after each outage", *log.info)
	}
}
