// Command readme is the complete program of the README, kept compiling
// and equal to it by readme_test.go.
package main

import (
	"context"
	"log"
	"os"
	"os/signal"

	"github.com/jackc/pgx/v5/pgxpool"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/driver-pgxv5"
)

type Welcome struct {
	Email string `json:"email"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	pgxPool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pgxPool.Close()
	pool := pgxv5.NewConnPool(pgxPool)
	if err := gue.Migrate(ctx, pool, ""); err != nil { // idempotent; or gue.SchemaSQL for your own tool
		log.Fatal(err)
	}
	client := gue.NewClient(pool)

	job, _ := gue.NewJob("welcome", Welcome{Email: "ada@example.com"})
	if err := client.Enqueue(ctx, job); err != nil { // or client.EnqueueTx(ctx, job, tx)
		log.Fatal(err)
	}

	workers := gue.NewWorkerPool(client, gue.WorkMap{
		"welcome": gue.WorkFor(func(j *gue.Job, w Welcome) error {
			log.Printf("mail to %s", w.Email) // j.Tx() is the job's transaction
			return nil                        // deletes the job; an error retries it with backoff
		}),
	}, 4)
	if err := workers.Run(ctx); err != nil { // until Ctrl-C, then a graceful shutdown
		log.Fatal(err)
	}
}
