package gueui

import (
	"fmt"
	"time"

	gue "github.com/gue-go/gue/core"
)

// chart is the overview's throughput chart: jobs worked and failed per
// minute over the last hour, summed over queues, drawn as SVG bars by the
// server (no JavaScript).
type chart struct {
	Bars   []bar
	Max    int64
	Worked int64
	Failed int64
	Width  int
	Height int
}

// bar is one minute.
type bar struct {
	X, W           int
	WorkedH, FailH int
	WorkedY, FailY int
	Title          string
}

func newChart(points []gue.ThroughputPoint, now time.Time) chart {
	const minutes, barW, height = 60, 10, 120
	c := chart{Width: minutes * barW, Height: height}
	end := now.UTC().Truncate(time.Minute)
	start := end.Add(-(minutes - 1) * time.Minute)
	worked, failed := make([]int64, minutes), make([]int64, minutes)
	for _, p := range points {
		i := int(p.Minute.Sub(start) / time.Minute)
		if i < 0 || i >= minutes {
			continue
		}
		worked[i] += p.Worked
		failed[i] += p.Failed
		c.Worked += p.Worked
		c.Failed += p.Failed
	}
	for i := range minutes {
		c.Max = max(c.Max, worked[i]+failed[i])
	}
	for i := range minutes {
		b := bar{X: i * barW, W: barW - 2, Title: fmt.Sprintf("%s: %d worked, %d failed", start.Add(time.Duration(i)*time.Minute).Format("15:04Z"), worked[i], failed[i])}
		if c.Max > 0 {
			b.WorkedH = int(worked[i] * height / c.Max)
			b.FailH = int(failed[i] * height / c.Max)
		}
		b.WorkedY = height - b.WorkedH
		b.FailY = b.WorkedY - b.FailH
		c.Bars = append(c.Bars, b)
	}
	return c
}
