package wake

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// A long queue name is cut at a character boundary, never inside one: the
// NOTIFY would fail with "invalid byte sequence for encoding UTF8".
func TestNotifyPayloadCutsAtCharacterBoundary(t *testing.T) {
	queue := "x" + strings.Repeat("é", 4000)
	p := Payload("public", queue)
	if len(p) > 7999 || !utf8.ValidString(p) {
		t.Errorf("payload of %d bytes, valid UTF-8 %v; want at most 7999 and valid", len(p), utf8.ValidString(p))
	}
	if short := Payload("public", "q"); short != "public\x1fq" {
		t.Errorf("short payload changed: %q", short)
	}
}

// The announcement an enqueue sends, by what the statement said of the job.
func TestEnqueuedPayload(t *testing.T) {
	at := time.UnixMicro(1_700_000_000_123_456)
	for _, c := range []struct {
		kind int64
		want string
	}{
		{0, ""},
		{1, "public\x1fq"},
		{2, "public\x1fq" + DueSuffix + "1700000000123456"},
	} {
		if got := EnqueuedPayload("public", "q", c.kind, at); got != c.want {
			t.Errorf("kind %d: %q, want %q", c.kind, got, c.want)
		}
	}
	if p, got, ok := ParseDue(EnqueuedPayload("public", "q", 2, at)); !ok || !got.Equal(at) || p != "public\x1fq" {
		t.Errorf("ParseDue of a due announcement = %q, %v, %v; want public\\x1fq, %v", p, got, ok, at)
	}
	if _, _, ok := ParseDue(Payload("public", "q")); ok {
		t.Error("control: a ready announcement parsed as a due one")
	}
}
