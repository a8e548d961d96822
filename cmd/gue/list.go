package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/spf13/cobra"
)

// jobFilterFlags are the flags that select jobs, shared by list and the
// actions on many jobs.
type jobFilterFlags struct {
	queue, typ, state string
}

func (f *jobFilterFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.queue, "queue", "", `only this queue ("" is the default queue: pass --queue "")`)
	c.Flags().StringVar(&f.typ, "type", "", "only this job type")
	c.Flags().StringVar(&f.state, "state", "", "only this state: ready, running, scheduled, retrying or dead (default: every live job)")
}

// filter builds the JobFilter the flags of c describe.
func (f *jobFilterFlags) filter(c *cobra.Command) (gue.JobFilter, error) {
	st, err := gue.ParseJobState(f.state)
	if err != nil {
		return gue.JobFilter{}, usageError("--state: %v", err)
	}
	return gue.JobFilter{Queue: f.queue, QueueSet: c.Flags().Changed("queue"), Type: f.typ, State: st}, nil
}

func (a *app) listCommand() *cobra.Command {
	var f jobFilterFlags
	var limit int
	var after string
	c := &cobra.Command{
		Use:   "list",
		Short: "List jobs by queue, type and state, a page at a time (keyset pagination; never locks a job; args are left out: see show)",
		Example: `  gue list --queue emails --state retrying
  gue list --state dead --limit 100
  gue list --limit 50 --after eyJxdWV1ZSI6ImEiLCJpZCI6NDJ9   # the next page, as printed
  gue list --json | jq '.jobs[].id'`,
		Args: exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, _ []string) error {
			filter, err := f.filter(c)
			if err != nil {
				return err
			}
			if limit < 1 || limit > 1000 {
				return usageError("--limit must be between 1 and 1000")
			}
			filter.Limit = limit
			if after != "" {
				ref, err := decodeCursor(after)
				if err != nil {
					return usageError("--after: %v", err)
				}
				filter.After = &ref
			}
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			if filter.QueueSet {
				if err := a.checkQueues(c.Context(), []string{filter.Queue}); err != nil {
					return err
				}
			}
			page, err := a.client.ListJobs(c.Context(), filter)
			if err != nil {
				return cmdErr(err)
			}
			next := ""
			if page.Next != nil {
				next = encodeCursor(*page.Next)
			}
			if a.jsonOut {
				jobs := page.Jobs
				if jobs == nil {
					jobs = []gue.JobInfo{}
				}
				return a.printJSON(map[string]any{"jobs": jobs, "next": next})
			}
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tQUEUE\tTYPE\tSTATE\tPRIORITY\tRUN AT\tERRORS\tLAST ERROR")
			for _, j := range page.Jobs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n", j.ID, displayQueue(j.Queue), clip(cell(j.Type), 40), j.State, j.Priority,
					j.RunAt.Local().Format(time.DateTime), j.ErrorCount, clip(cell(oneLine(j.LastError)), 60))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(page.Jobs) == 0 {
				fmt.Fprintln(a.errOut, "no jobs match")
			}
			if next != "" {
				fmt.Fprintf(a.errOut, "more: gue list --after %s (with the same filters)\n", next)
			}
			return nil
		},
	}
	f.add(c)
	c.Flags().IntVar(&limit, "limit", 50, "jobs per page (1–1000)")
	c.Flags().StringVar(&after, "after", "", "continue after this cursor (printed at the end of a page)")
	a.jsonFlag(c)
	return c
}

func encodeCursor(r gue.JobRef) string { return r.Cursor() }

func decodeCursor(s string) (gue.JobRef, error) { return gue.ParseCursor(s) }

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func (a *app) showCommand() *cobra.Command {
	var queue string
	c := &cobra.Command{
		Use:   "show ID",
		Short: "Show one job, live or dead, with its args and metadata",
		Example: `  gue show 42
  gue show 42 --queue emails --json`,
		Args: exactArgs(1, "a job ID"),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			j, err := a.findJob(c, queue, id)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(j)
			}
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
			row("id", strconv.FormatInt(j.ID, 10))
			row("queue", displayQueue(j.Queue))
			row("type", cell(j.Type))
			row("state", string(j.State))
			row("priority", strconv.Itoa(int(j.Priority)))
			row("run at", j.RunAt.Local().Format(time.RFC3339))
			row("errors", strconv.Itoa(int(j.ErrorCount)))
			if j.MaxAttempts > 0 {
				row("max attempts", strconv.Itoa(int(j.MaxAttempts)))
			}
			if j.UniqueKey != "" {
				row("unique key", cell(j.UniqueKey))
			}
			row("created at", j.CreatedAt.Local().Format(time.RFC3339))
			if j.DiedAt != nil {
				row("died at", j.DiedAt.Local().Format(time.RFC3339))
				row("reason", cell(j.Reason))
			}
			keys := make([]string, 0, len(j.Metadata))
			for k := range j.Metadata {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				row("metadata "+cell(k), cell(j.Metadata[k]))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			var pretty bytes.Buffer
			if json.Indent(&pretty, j.Args, "", "  ") != nil {
				pretty.Reset()
				pretty.Write(j.Args)
			}
			fmt.Fprintf(a.out, "args:\n%s\n", block(pretty.String()))
			if j.LastError != "" {
				fmt.Fprintf(a.out, "last error:\n%s\n", block(j.LastError))
			}
			return nil
		},
	}
	c.Flags().StringVar(&queue, "queue", "", "the job's queue (found by ID when not given)")
	a.jsonFlag(c)
	return c
}

// findJob returns job id, of queue when --queue was given.
func (a *app) findJob(c *cobra.Command, queue string, id int64) (*gue.JobInfo, error) {
	var j *gue.JobInfo
	var err error
	if c.Flags().Changed("queue") {
		j, err = a.client.GetJob(c.Context(), queue, id)
	} else {
		j, err = a.client.FindJob(c.Context(), id)
	}
	if err != nil {
		return nil, cmdErr(err)
	}
	return j, nil
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError("job ID must be a positive integer, got %q", s)
	}
	return id, nil
}
