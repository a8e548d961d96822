package main

import "testing"

func TestCellAndBlockEscape(t *testing.T) {
	for _, tc := range []struct{ in, cell, block string }{
		{"plain text", "plain text", "plain text"},
		{"", "", ""},
		{"tab\there", `"tab\there"`, "tab\there"},
		{"two\nlines", `"two\nlines"`, "two\nlines"},
		{"esc\x1b[2J", `"esc\x1b[2J"`, `esc\x1b[2J`},
		{"c1\u009b31m", `"c1\u009b31m"`, `c1\u009b31m`},
		{"bidi\u202e", `"bidi\u202e"`, `bidi\u202e`},
		{"caf\xe9", `"caf\xe9"`, `caf\xe9`},
		{"real \ufffd", "real \ufffd", "real \ufffd"},
		{`"quoted"`, `"\"quoted\""`, `"quoted"`},
		{"naïve 日本", "naïve 日本", "naïve 日本"},
	} {
		if got := cell(tc.in); got != tc.cell {
			t.Errorf("cell(%q) = %s, want %s", tc.in, got, tc.cell)
		}
		if got := block(tc.in); got != tc.block {
			t.Errorf("block(%q) = %q, want %q", tc.in, got, tc.block)
		}
	}
}
