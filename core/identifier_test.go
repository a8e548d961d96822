package gue

import (
	"errors"
	"strings"
	"testing"
)

func TestQuoteIdent(t *testing.T) {
	cases := map[string]string{
		"public":         `"public"`,
		`a"b`:            `"a""b"`,
		`x"; DROP TABLE`: `"x""; DROP TABLE"`,
		"ünï 🚀":          `"ünï 🚀"`,
		`""`:             `""""""`,
	}
	for in, want := range cases {
		if got := quoteIdent(in); got != want {
			t.Errorf("quoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCheckSchema(t *testing.T) {
	if s, err := checkSchema(""); s != "public" || err != nil {
		t.Errorf(`checkSchema("") = %q, %v`, s, err)
	}
	if s, err := checkSchema(`we"ird; --`); s != `we"ird; --` || err != nil {
		t.Errorf("hostile but valid name rejected: %q, %v", s, err)
	}
	for _, bad := range []string{"a\x00b", strings.Repeat("x", 64)} {
		if _, err := checkSchema(bad); !errors.Is(err, ErrInvalidSchema) {
			t.Errorf("checkSchema(%q): %v, want ErrInvalidSchema", bad, err)
		}
	}
}
