package main

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Job data comes from whoever enqueued the job: a type, queue, error or
// metadata value may hold terminal escape sequences (ESC, CSI, OSC) that would
// retitle, recolour or clear the operator's terminal, or bidirectional
// controls that reorder what is shown. The CLI prints such data through cell
// or block, which show every byte that is not plainly printable as a Go escape
// (\x1b, \u202e, \xe9 for an invalid UTF-8 byte). JSON output is left exact:
// encoding/json escapes control characters itself.

// printable reports whether r can be shown as itself.
func printable(r rune) bool { return r != utf8.RuneError && unicode.IsPrint(r) }

// cell returns s for one table cell or a one-line message: as it is when
// every rune is printable (spaces included), else Go-quoted, so that a
// control character, a tab, a newline or an invalid byte is seen for what it
// is and cannot act on the terminal. A value that itself starts with a double
// quote is quoted too, so a quoted cell is never ambiguous.
func cell(s string) string {
	if strings.HasPrefix(s, `"`) {
		return strconv.Quote(s)
	}
	for i, r := range s {
		if !printable(r) {
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(s[i:]); size > 1 {
					continue // a real U+FFFD is printable
				}
			}
			return strconv.Quote(s)
		}
	}
	return s
}

// block returns multi-line text (a last error, args) with its line breaks and
// tabs kept and every other unprintable rune or invalid byte escaped in place.
func block(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[0])|0x100, 16)[1:])
		case r == '\n' || r == '\t' || r == utf8.RuneError || unicode.IsPrint(r):
			b.WriteString(s[:size])
		default:
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		s = s[size:]
	}
	return b.String()
}
