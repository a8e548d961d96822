package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/spf13/cobra"
)

// action is one of retry, cancel, delete on one job.
type action struct {
	verb, past, short string
	do                func(ctx context.Context, c *gue.Client, queue string, id int64) error
}

var actions = map[string]action{
	"retry": {"retry", "retried", "Run jobs now: dead ones go back to their queue, scheduled or retrying ones become ready",
		func(ctx context.Context, c *gue.Client, q string, id int64) error { return c.RetryJob(ctx, q, id) }},
	"cancel": {"cancel", "cancelled", "Cancel jobs: a queued one goes to the dead jobs, a running one has its context cancelled",
		func(ctx context.Context, c *gue.Client, q string, id int64) error { return c.Cancel(ctx, q, id) }},
	"delete": {"delete", "deleted", "Delete jobs, live (not running: cancel those) or dead",
		func(ctx context.Context, c *gue.Client, q string, id int64) error { return c.DeleteJob(ctx, q, id) }},
}

func (a *app) actionCommand(name string) *cobra.Command {
	act := actions[name]
	var f jobFilterFlags
	var yes bool
	c := &cobra.Command{
		Use:   name + " [ID]",
		Short: act.short,
		Long: act.short + `.

With an ID, acts on that job (--queue names its queue; found by ID otherwise).
Without one, acts on every job the filters select (--queue, --type, --state):
it prints how many match and does nothing unless --yes is given (exit code 4).`,
		Example: fmt.Sprintf(`  gue %[1]s 42
  gue %[1]s --state dead --queue emails          # prints the count only
  gue %[1]s --state dead --queue emails --yes`, name),
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError("expected at most one job ID, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				id, err := parseID(args[0])
				if err != nil {
					return err
				}
				if c.Flags().Changed("type") || c.Flags().Changed("state") {
					return usageError("--type and --state select many jobs: give them without an ID")
				}
				if err := a.connect(c.Context()); err != nil {
					return err
				}
				j, err := a.findJob(c, f.queue, id)
				if err != nil {
					return err
				}
				err = act.do(c.Context(), a.client, j.Queue, id)
				if name == "cancel" && errors.Is(err, gue.ErrJobRunning) {
					fmt.Fprintf(a.out, "job %d is running: its worker was asked to cancel it\n", id)
					return nil
				}
				if err != nil {
					return cmdErr(err)
				}
				fmt.Fprintf(a.out, "job %d %s\n", id, act.past)
				return nil
			}
			filter, err := f.filter(c)
			if err != nil {
				return err
			}
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			if filter.QueueSet {
				if err := a.checkQueues(c.Context(), []string{filter.Queue}); err != nil {
					return err
				}
			}
			refs, err := a.matching(c.Context(), filter)
			if err != nil {
				return err
			}
			if !yes {
				return &exitError{code: exitRefused, err: fmt.Errorf("%d job(s) match; pass --yes to %s them", len(refs), name)}
			}
			return a.bulk(c.Context(), act, refs)
		},
	}
	f.add(c)
	c.Flags().BoolVar(&yes, "yes", false, "act on every job the filters select")
	return c
}

// matching lists the jobs filter selects, a page at a time.
func (a *app) matching(ctx context.Context, filter gue.JobFilter) ([]gue.JobRef, error) {
	filter.Limit = 1000
	var refs []gue.JobRef
	for {
		page, err := a.client.ListJobs(ctx, filter)
		if err != nil {
			return nil, cmdErr(err)
		}
		for _, j := range page.Jobs {
			refs = append(refs, gue.JobRef{Queue: j.Queue, ID: j.ID})
		}
		if page.Next == nil {
			return refs, nil
		}
		filter.After = page.Next
	}
}

// bulk applies act to refs, one statement per job, and prints a summary.
func (a *app) bulk(ctx context.Context, act action, refs []gue.JobRef) error {
	bar := newProgress(a.errOut, act.verb, int64(len(refs)))
	res, err := a.client.ActOnJobs(ctx, gue.JobAction(act.verb), refs, func(n int) { bar.set(int64(n)) })
	bar.done()
	if err != nil {
		return cmdErr(err)
	}
	fmt.Fprintf(a.out, "%d job(s) %s", res.Done, act.past)
	if res.Running > 0 {
		if act.verb == "cancel" {
			fmt.Fprintf(a.out, ", %d running (their workers were asked to cancel them)", res.Running)
		} else {
			fmt.Fprintf(a.out, ", %d skipped (running)", res.Running)
		}
	}
	if res.Missing > 0 {
		fmt.Fprintf(a.out, ", %d gone meanwhile", res.Missing)
	}
	fmt.Fprintln(a.out)
	if res.Failed > 0 {
		return fmt.Errorf("%d job(s) failed, the first: %v", res.Failed, cmdErr(res.FirstErr))
	}
	return nil
}

func (a *app) pauseCommand(pause bool) *cobra.Command {
	name, short := "pause", "Pause a queue: every worker on every host stops locking its jobs within a second"
	if !pause {
		name, short = "resume", "Resume a paused queue"
	}
	return &cobra.Command{
		Use:     name + " QUEUE",
		Short:   short,
		Example: fmt.Sprintf("  gue %s emails\n  gue %s \"\"   # the default queue", name, name),
		Args:    exactArgs(1, "a queue name"),
		RunE: func(c *cobra.Command, args []string) error {
			q := args[0]
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			known, err := a.client.Queues(c.Context())
			if err != nil {
				return cmdErr(err)
			}
			unknown := true
			for _, k := range known {
				unknown = unknown && k != q
			}
			if pause {
				err = a.client.PauseQueue(c.Context(), q)
			} else {
				err = a.client.ResumeQueue(c.Context(), q)
			}
			if err != nil {
				return cmdErr(err)
			}
			if unknown {
				fmt.Fprintf(a.errOut, "note: queue %q has no jobs, dead jobs or pools yet (known: %s)\n", q, quoteList(known))
			}
			fmt.Fprintf(a.out, "queue %s %sd\n", displayQueue(q), name)
			return nil
		},
	}
}

func (a *app) poolsCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "pools",
		Short: "List the running worker pools: host, pid, queues, heartbeat, jobs in flight, worked and failed",
		Example: `  gue pools
  gue pools --json | jq '.pools[] | {host, in_flight}'`,
		Args: exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			pools, err := a.client.Pools(c.Context())
			if err != nil {
				return cmdErr(err)
			}
			if a.jsonOut {
				if pools == nil {
					pools = []gue.PoolInfo{}
				}
				return a.printJSON(map[string]any{"pools": pools})
			}
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "POOL\tHOST\tPID\tQUEUES\tWORKERS\tSTARTED\tHEARTBEAT\tIN FLIGHT\tWORKED\tFAILED")
			for _, p := range pools {
				qs := make([]string, len(p.Queues))
				for i, q := range p.Queues {
					qs[i] = displayQueue(q)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s ago\t%d\t%d\t%d\n", cell(p.ID), cell(p.Host), p.PID, clip(fmt.Sprint(qs), 40), p.Workers,
					p.StartedAt.Local().Format(time.DateTime), age(time.Since(p.HeartbeatAt)), len(p.InFlight), p.Worked, p.Failed)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(pools) == 0 {
				fmt.Fprintln(a.errOut, "no running pools registered (pools register unless WithPoolRegistry(false))")
			}
			return nil
		},
	}
	a.jsonFlag(c)
	return c
}

func (a *app) periodicCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "periodic",
		Short: "List periodic schedules with their next run, or delete one no pool declares any more",
		Example: `  gue periodic list
  gue periodic delete nightly-report`,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the periodic schedules recorded in the schema",
		Args:  exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			ps, err := a.client.ListPeriodic(c.Context())
			if err != nil {
				return cmdErr(err)
			}
			if a.jsonOut {
				if ps == nil {
					ps = []gue.PeriodicJob{}
				}
				return a.printJSON(map[string]any{"periodic": ps})
			}
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tNEXT RUN\tLAST RUN\tLAST JOB")
			for _, p := range ps {
				last, job := "-", "-"
				if !p.LastRunAt.IsZero() {
					last = p.LastRunAt.Local().Format(time.DateTime)
				}
				if p.LastJobID != 0 {
					job = fmt.Sprintf("%d (%s)", p.LastJobID, displayQueue(p.LastQueue))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cell(p.Name), p.NextRunAt.Local().Format(time.DateTime), last, job)
			}
			return tw.Flush()
		},
	}
	a.jsonFlag(list)
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a schedule's row (a pool that still declares it records it again)",
		Args:  exactArgs(1, "a schedule name"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			if err := a.client.DeletePeriodic(c.Context(), args[0]); err != nil {
				return cmdErr(err)
			}
			fmt.Fprintf(a.out, "periodic schedule %q deleted\n", args[0])
			return nil
		},
	}
	c.AddCommand(list, del)
	return c
}
