package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a progress bar on a terminal, and nothing elsewhere (a
// file or a pipe gets the summary line only).
type progress struct {
	w       io.Writer
	label   string
	total   int64 // 0: unknown
	n       int64
	start   time.Time
	drawn   time.Time
	enabled bool
}

func newProgress(w io.Writer, label string, total int64) *progress {
	return &progress{w: w, label: label, total: total, start: time.Now(), enabled: isTerminal(w)}
}

// add counts k more and redraws at most ten times a second.
func (p *progress) add(k int64) {
	p.n += k
	if p.enabled && time.Since(p.drawn) >= 100*time.Millisecond {
		p.draw()
	}
}

// set sets the count (for work counted elsewhere).
func (p *progress) set(n int64) { p.add(n - p.n) }

func (p *progress) draw() {
	p.drawn = time.Now()
	rate := float64(p.n) / max(time.Since(p.start).Seconds(), 1e-3)
	if p.total <= 0 {
		fmt.Fprintf(p.w, "\r%s %d  %.0f/s\033[K", p.label, p.n, rate)
		return
	}
	const width = 30
	filled := int(int64(width) * min(p.n, p.total) / p.total)
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d  %.0f/s\033[K", p.label, strings.Repeat("#", filled), strings.Repeat(".", width-filled), p.n, p.total, rate)
}

// done draws the final state and ends the line.
func (p *progress) done() {
	if p.enabled {
		p.draw()
		fmt.Fprintln(p.w)
	}
}
