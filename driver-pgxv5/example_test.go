package pgxv5_test

import (
	"context"
	"fmt"
	"log"
	"os"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/driver-pgxv5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Enqueue a job inside the application's transaction and work it with a
// handler that writes through pgx in the job's own transaction.
func Example() {
	ctx := context.Background()
	pgxPool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pgxPool.Close()
	pool := pgxv5.NewConnPool(pgxPool)
	if err := gue.Migrate(ctx, pool, "example_pgxv5"); err != nil {
		log.Fatal(err)
	}
	gc := gue.NewClient(pool, gue.WithClientSchema("example_pgxv5"))

	tx, err := pgxPool.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := gc.EnqueueTx(ctx, &gue.Job{Type: "Greet", Args: []byte(`"pgx v5"`)}, pgxv5.NewTx(tx)); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}

	w := gue.NewWorker(gc, gue.WorkMap{"Greet": func(j *gue.Job) error {
		ptx, _ := pgxv5.UnwrapTx(j.Tx()) // the job's transaction, with pgx's full API
		var greeting string
		if err := ptx.QueryRow(j.Context(), "SELECT 'Hello, ' || ($1::json #>> '{}')", string(j.Args)).Scan(&greeting); err != nil {
			return err
		}
		fmt.Println(greeting)
		return nil
	}}, gue.WithWorkerSchema("example_pgxv5"))
	fmt.Println("worked:", w.WorkOne(ctx))
	// Output:
	// Hello, pgx v5
	// worked: true
}
