package guetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

func TestArgsMatching(t *testing.T) {
	type args struct {
		To   string `json:"to"`
		N    int    `json:"n"`
		Tags []string
	}
	job := json.RawMessage(`{"to": "a@b.c", "n": 12345678901234567, "Tags": ["x", "y"], "extra": {"k": 1.0}}`)
	for _, c := range []struct {
		name string
		m    Match
		ok   bool
	}{
		{"no args wanted", Match{}, true},
		{"equal as text, other spacing and order", Match{Args: `{"extra":{"k":1},"Tags":["x","y"],"n":12345678901234567,"to":"a@b.c"}`}, true},
		{"a JSON string is not the object", Match{Args: `"a@b.c"`}, false},
		{"equal as raw JSON", Match{Args: json.RawMessage(`{"extra":{"k":1},"Tags":["x","y"],"n":12345678901234567,"to":"a@b.c"}`)}, true},
		{"equal as bytes", Match{Args: []byte(`{"extra":{"k":1e0},"Tags":["x","y"],"n":12345678901234567,"to":"a@b.c"}`)}, true},
		{"large integers compare exactly", Match{Args: json.RawMessage(`{"extra":{"k":1},"Tags":["x","y"],"n":12345678901234568,"to":"a@b.c"}`)}, false},
		{"a struct is not all of it", Match{Args: args{To: "a@b.c", N: 12345678901234567, Tags: []string{"x", "y"}}}, false},
		{"subset by a struct", Match{ArgsSubset: args{To: "a@b.c", N: 12345678901234567, Tags: []string{"x", "y"}}}, true},
		{"subset by a map", Match{ArgsSubset: map[string]any{"extra": map[string]any{"k": 1}}}, true},
		{"subset with a wrong value", Match{ArgsSubset: map[string]any{"to": "other"}}, false},
		{"subset with a missing key", Match{ArgsSubset: map[string]any{"cc": "x"}}, false},
		{"arrays are compared whole", Match{ArgsSubset: map[string]any{"Tags": []string{"x"}}}, false},
	} {
		if got := len(c.m.argsMisses(job)) == 0; got != c.ok {
			t.Errorf("%s: match %v, want %v (%v)", c.name, got, c.ok, c.m.argsMisses(job))
		}
	}
	if err := (Match{Args: json.RawMessage(`{"a":`)}).check(); err == nil {
		t.Error("args that are not JSON were accepted")
	}
	if err := (Match{ArgsSubset: func() {}}).check(); err == nil {
		t.Error("args that cannot be marshalled were accepted")
	}
}

func TestCheapFields(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	j := gue.JobInfo{ID: 1, Queue: "", Type: "mail", Priority: 0, RunAt: t0, UniqueKey: "k",
		Metadata: map[string]string{"tenant": "7", "trace": "x"}, State: gue.StateReady}
	for _, c := range []struct {
		name string
		m    Match
		miss int
	}{
		{"zero Match", Match{}, 0},
		{"default queue set", Match{QueueSet: true}, 0},
		{"other queue", Match{Queue: "q"}, 1},
		{"priority 0 set", Match{PrioritySet: true}, 0},
		{"priority 1 set", Match{Priority: 1, PrioritySet: true}, 1},
		{"priority 1 alone", Match{Priority: 1}, 1},
		{"priority 0 alone matches any", Match{Priority: 0}, 0},
		{"run-at window around", Match{RunAfter: t0.Add(-time.Second), RunBefore: t0}, 0},
		{"run-at window after", Match{RunAfter: t0.Add(time.Nanosecond)}, 1},
		{"metadata subset", Match{Metadata: map[string]string{"tenant": "7"}}, 0},
		{"metadata wrong and missing", Match{Metadata: map[string]string{"tenant": "8", "user": "1"}}, 2},
		{"all wrong", Match{Queue: "q", Type: "sms", UniqueKey: "j", State: gue.StateDead}, 4},
	} {
		if got := c.m.cheapMisses(j); len(got) != c.miss {
			t.Errorf("%s: %d misses %v, want %d", c.name, len(got), got, c.miss)
		}
	}
}

// A job's strings are data: shown escaped, so that a terminal escape or
// invalid UTF-8 in one cannot act on the test's output.
func TestHostileStringsAreEscaped(t *testing.T) {
	j := gue.JobInfo{ID: 1, Queue: "q\x1b[2J", Type: "t\x00", Args: json.RawMessage("{\"a\":\"\\u001b[31m\"}")}
	s := describe(j)
	if strings.ContainsAny(s, "\x1b\x00") {
		t.Errorf("description holds raw control bytes: %q", s)
	}
	if got := compact([]byte("\xff\x1b")); got != `\xff\x1b` {
		t.Errorf("compact of invalid UTF-8 and ESC = %q", got)
	}
	if got := (Match{Queue: "a\nb"}).String(); strings.Contains(got, "\n") {
		t.Errorf("Match.String keeps a newline: %q", got)
	}
}
