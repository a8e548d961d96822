// Command quickstart enqueues two jobs, one delayed by three seconds, and
// works them with a pool of two workers on PostgreSQL at DATABASE_URL, then
// shuts the pool down gracefully. Run it with "make quickstart" from the
// repository root to get a disposable PostgreSQL when DATABASE_URL is unset;
// -driver picks the adapter (pgxv4, pgxv5, pgxv3, libpq, pgx-stdlib).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

type printNameArgs struct {
	Name string
}

func main() {
	driver := flag.String("driver", "pgxv4", "database driver: "+drivers)
	flag.Parse()
	ctx := context.Background()
	poolAdapter, err := openPool(ctx, *driver, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer poolAdapter.Close()

	// Creates gue_jobs on first run; a no-op afterwards.
	if err := gue.Migrate(ctx, poolAdapter, ""); err != nil {
		log.Fatal(err)
	}

	var worked sync.WaitGroup
	worked.Add(2)
	printName := func(j *gue.Job) error {
		defer worked.Done()
		var args printNameArgs
		if err := json.Unmarshal(j.Args, &args); err != nil {
			return err
		}
		fmt.Printf("Hello %s! (job %d, queued for %s)\n", args.Name, j.ID, j.RunAt.Format(time.TimeOnly))
		return nil
	}

	gc := gue.NewClient(poolAdapter)
	workers := gue.NewWorkerPool(gc, gue.WorkMap{"PrintName": printName}, 2,
		gue.WithPoolQueue("name_printer"),
		gue.WithPoolPollInterval(100*time.Millisecond),
		gue.WithPoolLogger(adapter.NewStdLogger()),
	)

	runCtx, shutdown := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error { return workers.Run(gctx) })

	args, err := json.Marshal(printNameArgs{Name: "gue-go"})
	if err != nil {
		log.Fatal(err)
	}
	jobs := []*gue.Job{
		{Type: "PrintName", Queue: "name_printer", Args: args},
		{Type: "PrintName", Queue: "name_printer", Args: args, RunAt: time.Now().Add(3 * time.Second)},
	}
	for _, j := range jobs {
		if err := gc.Enqueue(ctx, j); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("enqueued job %d to run at %s\n", j.ID, j.RunAt.Format(time.TimeOnly))
	}

	worked.Wait() // both jobs ran
	shutdown()
	if err := g.Wait(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("both jobs worked with driver %s; workers stopped\n", *driver)
}
