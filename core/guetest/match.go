package guetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gue "github.com/gue-go/gue/core"
)

// Match describes the jobs a test expects. Zero fields match anything.
type Match struct {
	// Schema is where to look: "" means public, as for gue.Migrate. It is
	// not matched against anything.
	Schema string
	// Queue, when QueueSet, keeps the jobs of one queue ("" is a queue
	// too: the default one). A non-empty Queue sets it alone.
	Queue    string
	QueueSet bool
	// Type keeps the jobs of one type.
	Type string
	// Args, when not nil, keeps the jobs whose args are JSON-equal to it:
	// the same value after decoding, whatever the spacing and key order.
	// A string, []byte or json.RawMessage is taken as JSON text (so
	// `{"to":"a@b.c"}` matches those args; a JSON string is `"text"`);
	// anything else is marshalled first (a struct of the job's arguments,
	// a map).
	Args any
	// ArgsSubset, when not nil, keeps the jobs whose args contain it: every
	// key of an object present with a matching value, recursively; arrays
	// and other values equal. Given as Args is.
	ArgsSubset any
	// Priority keeps the jobs of that priority: a non-zero one alone, 0
	// when PrioritySet too (the zero value matches any priority).
	Priority    int16
	PrioritySet bool
	// RunAfter and RunBefore, when not zero, keep the jobs whose RunAt is
	// at or after RunAfter and at or before RunBefore.
	RunAfter, RunBefore time.Time
	// UniqueKey keeps the jobs with that unique key.
	UniqueKey string
	// Metadata keeps the jobs whose metadata has each of these keys with
	// that value (others may be there too).
	Metadata map[string]string
	// State keeps the jobs in one state; "" keeps every live job (ready,
	// scheduled, retrying or running), not the dead ones, which
	// gue.StateDead selects.
	State gue.JobState
}

// String describes m by its set fields, for failure messages.
func (m Match) String() string {
	var parts []string
	add := func(name string, v any) { parts = append(parts, fmt.Sprintf("%s=%s", name, quoted(v))) }
	if m.queueSet() {
		add("Queue", m.Queue)
	}
	if m.Type != "" {
		add("Type", m.Type)
	}
	if m.Args != nil {
		parts = append(parts, "Args="+shown(m.Args))
	}
	if m.ArgsSubset != nil {
		parts = append(parts, "ArgsSubset="+shown(m.ArgsSubset))
	}
	if m.prioritySet() {
		parts = append(parts, fmt.Sprintf("Priority=%d", m.Priority))
	}
	if !m.RunAfter.IsZero() {
		parts = append(parts, "RunAfter="+m.RunAfter.UTC().Format(time.RFC3339Nano))
	}
	if !m.RunBefore.IsZero() {
		parts = append(parts, "RunBefore="+m.RunBefore.UTC().Format(time.RFC3339Nano))
	}
	if m.UniqueKey != "" {
		add("UniqueKey", m.UniqueKey)
	}
	if len(m.Metadata) > 0 {
		keys := make([]string, 0, len(m.Metadata))
		for k := range m.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, quoted(k)+":"+quoted(m.Metadata[k]))
		}
		parts = append(parts, "Metadata{"+strings.Join(kv, ",")+"}")
	}
	if m.State != "" {
		add("State", string(m.State))
	}
	if m.Schema != "" {
		add("Schema", m.Schema)
	}
	if len(parts) == 0 {
		return "any job"
	}
	return strings.Join(parts, " ")
}

func (m Match) queueSet() bool { return m.QueueSet || m.Queue != "" }

func (m Match) prioritySet() bool { return m.PrioritySet || m.Priority != 0 }

// check reports m's own errors: args that cannot be taken as JSON.
func (m Match) check() error {
	for name, v := range map[string]any{"Args": m.Args, "ArgsSubset": m.ArgsSubset} {
		if v == nil {
			continue
		}
		if _, err := decode(v); err != nil {
			return fmt.Errorf("Match.%s: %w", name, err)
		}
	}
	return nil
}

// cheapMisses lists how j differs from m in the fields a listing shows
// (everything but the args).
func (m Match) cheapMisses(j gue.JobInfo) []string {
	var miss []string
	if m.queueSet() && j.Queue != m.Queue {
		miss = append(miss, "Queue "+quoted(j.Queue))
	}
	if m.Type != "" && j.Type != m.Type {
		miss = append(miss, "Type "+quoted(j.Type))
	}
	if m.prioritySet() && j.Priority != m.Priority {
		miss = append(miss, fmt.Sprintf("Priority %d", j.Priority))
	}
	if (!m.RunAfter.IsZero() && j.RunAt.Before(m.RunAfter)) || (!m.RunBefore.IsZero() && j.RunAt.After(m.RunBefore)) {
		miss = append(miss, "RunAt "+j.RunAt.UTC().Format(time.RFC3339Nano))
	}
	if m.UniqueKey != "" && j.UniqueKey != m.UniqueKey {
		miss = append(miss, "UniqueKey "+quoted(j.UniqueKey))
	}
	for k, v := range m.Metadata {
		if got, ok := j.Metadata[k]; !ok || got != v {
			if ok {
				miss = append(miss, fmt.Sprintf("Metadata[%s] %s", quoted(k), quoted(got)))
			} else {
				miss = append(miss, fmt.Sprintf("Metadata[%s] missing", quoted(k)))
			}
		}
	}
	if m.State != "" && j.State != m.State {
		miss = append(miss, "State "+string(j.State))
	}
	return miss
}

// argsMisses lists how args differ from m's Args and ArgsSubset.
func (m Match) argsMisses(args json.RawMessage) []string {
	if m.Args == nil && m.ArgsSubset == nil {
		return nil
	}
	got, err := decode(json.RawMessage(args))
	if err != nil {
		return []string{"Args not JSON: " + quoted(string(args))}
	}
	if m.Args != nil {
		if want, _ := decode(m.Args); !jsonEqual(want, got) {
			return []string{"Args " + compact(args)}
		}
	}
	if m.ArgsSubset != nil {
		if want, _ := decode(m.ArgsSubset); !jsonSubset(want, got) {
			return []string{"Args " + compact(args) + " (not a superset)"}
		}
	}
	return nil
}

// decode takes v as JSON: the text of a []byte or json.RawMessage, else
// v marshalled; numbers stay json.Number, so that large integers compare
// exactly.
func decode(v any) (any, error) {
	var raw []byte
	switch x := v.(type) {
	case json.RawMessage:
		raw = x
	case []byte:
		raw = x
	case string:
		raw = []byte(x)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if d.More() {
		return nil, fmt.Errorf("not one JSON value: %.60q", raw)
	}
	return out, nil
}

// jsonEqual reports whether two decoded JSON values are the same value;
// numbers compare by value (1 and 1.0 are equal).
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		return ok && numbersEqual(x, y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// jsonSubset reports whether got contains want: objects by their keys,
// recursively; anything else equal.
func jsonSubset(want, got any) bool {
	w, ok := want.(map[string]any)
	if !ok {
		return jsonEqual(want, got)
	}
	g, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, v := range w {
		x, ok := g[k]
		if !ok || !jsonSubset(v, x) {
			return false
		}
	}
	return true
}

func numbersEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	if x, err := strconv.ParseInt(string(a), 10, 64); err == nil {
		if y, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return x == y
		}
	}
	x, errA := a.Float64()
	y, errB := b.Float64()
	return errA == nil && errB == nil && x == y
}

// quoted shows a string with anything unprintable escaped: a job's fields
// are data, and a terminal escape in one must not act on the test's output.
func quoted(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// shown is a Match's args as compact JSON text.
func shown(v any) string {
	switch x := v.(type) {
	case json.RawMessage:
		return compact(x)
	case []byte:
		return compact(x)
	case string:
		return compact([]byte(x))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v (not JSON: %v)", v, err)
	}
	return compact(b)
}

// compact is JSON text without spacing, cut to 200 bytes, escaped like a
// quoted string where it is not printable.
func compact(raw []byte) string {
	var b bytes.Buffer
	s := string(raw)
	if json.Compact(&b, raw) == nil {
		s = b.String()
	}
	cut := len(s) > 200
	if cut {
		s = s[:200]
	}
	s = escapeUnprintable(s)
	if cut {
		s += "…"
	}
	return s
}

// escapeUnprintable escapes what a terminal would act on or cannot show:
// control characters, invalid UTF-8, other unprintable runes.
func escapeUnprintable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}
