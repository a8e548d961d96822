package main

import (
	"io"
	"os"
)

func getenv(k string) string { return os.Getenv(k) }

// isTerminal reports whether w is a terminal (a progress bar or a cleared
// screen make sense there, not in a file or pipe).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
