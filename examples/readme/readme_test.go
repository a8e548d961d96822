package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README's complete program is this package's main.go, word for word
// (after main.go's first two comment lines), so that it keeps compiling.
func TestREADMEProgramIsThisOne(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## A complete program\n\n```go\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no \"A complete program\" section with a Go block")
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(src), "\n", 3)
	if len(lines) < 3 || string(m[1]) != lines[2] {
		t.Error("README.md's complete program and examples/readme/main.go differ: change both")
	}
}
