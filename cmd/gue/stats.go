package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/spf13/cobra"
)

func (a *app) statsCommand() *cobra.Command {
	var queues []string
	var watch bool
	var interval time.Duration
	c := &cobra.Command{
		Use:   "stats",
		Short: "Per queue: ready, scheduled, retrying, dead, running, paused, oldest ready job's age, jobs worked last minute",
		Long: `Per queue: jobs ready, scheduled (future run_at), retrying (failed at least once,
waiting), dead, running (in registered pools), whether paused, how long the oldest
ready job has waited, and the jobs pools worked and failed in the last full minute.

--json prints {"queues":[{"queue":…, "ready":…, "scheduled":…, "retrying":…,
"dead":…, "running":…, "paused":…, "oldest_ready_seconds":…,
"worked_last_minute":…, "failed_last_minute":…}]}; with --watch, one such line
per interval.`,
		Example: `  gue stats
  gue stats --queue emails --queue reports
  gue stats --watch --interval 1s
  gue stats --json | jq '.queues[] | select(.dead > 0)'`,
		Args: exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			if err := a.checkQueues(c.Context(), queues); err != nil {
				return err
			}
			if !watch {
				return a.printStats(c.Context(), queues)
			}
			if interval <= 0 {
				return usageError("--interval must be positive")
			}
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				if isTerminal(a.out) && !a.jsonOut {
					fmt.Fprint(a.out, "\033[H\033[2J")
					fmt.Fprintf(a.out, "gue stats, every %s (Ctrl-C to stop) %s\n\n", interval, time.Now().Format(time.TimeOnly))
				}
				if err := a.printStats(c.Context(), queues); err != nil {
					return err
				}
				select {
				case <-c.Context().Done():
					return nil
				case <-t.C:
				}
			}
		},
	}
	c.Flags().StringSliceVar(&queues, "queue", nil, "only these queues (repeat or comma-separate)")
	c.Flags().BoolVar(&watch, "watch", false, "refresh every --interval until interrupted")
	c.Flags().DurationVar(&interval, "interval", 2*time.Second, "refresh interval with --watch")
	a.jsonFlag(c)
	return c
}

// checkQueues fails for a queue that has no job, dead job, pause or pool.
func (a *app) checkQueues(ctx context.Context, queues []string) error {
	if len(queues) == 0 {
		return nil
	}
	known, err := a.client.Queues(ctx)
	if err != nil {
		return cmdErr(err)
	}
	for _, q := range queues {
		if !slices.Contains(known, q) {
			return fmt.Errorf("unknown queue %q: no jobs, dead jobs, pause or pool (known: %s)", q, quoteList(known))
		}
	}
	return nil
}

func quoteList(qs []string) string {
	if len(qs) == 0 {
		return "none"
	}
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = fmt.Sprintf("%q", q)
	}
	return strings.Join(out, ", ")
}

func (a *app) printStats(ctx context.Context, queues []string) error {
	stats, err := a.client.Stats(ctx, gue.StatsOptions{Queues: queues})
	if err != nil {
		return cmdErr(err)
	}
	if a.jsonOut {
		if stats == nil {
			stats = []gue.QueueStats{}
		}
		return a.printJSONLine(map[string]any{"queues": stats})
	}
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "QUEUE\tREADY\tSCHEDULED\tRETRYING\tDEAD\tRUNNING\tPAUSED\tOLDEST READY\tWORKED/MIN\tFAILED/MIN\t")
	for _, s := range stats {
		paused := "no"
		if s.Paused {
			paused = "yes"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%d\t%d\t\n", displayQueue(s.Queue), s.Ready, s.Scheduled, s.Retrying, s.Dead,
			s.Running, paused, age(s.OldestReadyAge), s.WorkedLastMinute, s.FailedLastMinute)
	}
	if len(stats) == 0 {
		fmt.Fprintln(tw, "(no queues)\t\t\t\t\t\t\t\t\t\t")
	}
	return tw.Flush()
}

// displayQueue shows the default queue "" readably, and any other queue as
// a cell.
func displayQueue(q string) string {
	if q == "" {
		return `""`
	}
	return cell(q)
}

// age formats a duration for a table: "-" for none.
func age(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
