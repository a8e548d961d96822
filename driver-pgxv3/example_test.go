package pgxv3_test

import (
	"context"
	"fmt"
	"log"
	"os"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/driver-pgxv3"
	"github.com/jackc/pgx"
)

// Enqueue a job inside the application's transaction and work it with a
// handler that queries through pgx v3 in the job's own transaction.
func Example() {
	ctx := context.Background()
	pgxCfg, err := pgx.ParseURI(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	pgxPool, err := pgx.NewConnPool(pgx.ConnPoolConfig{ConnConfig: pgxCfg})
	if err != nil {
		log.Fatal(err)
	}
	defer pgxPool.Close()
	pool := pgxv3.NewConnPool(pgxPool)
	if err := gue.Migrate(ctx, pool, "example_pgxv3"); err != nil {
		log.Fatal(err)
	}
	gc := gue.NewClient(pool, gue.WithClientSchema("example_pgxv3"))

	tx, err := pgxPool.BeginEx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := gc.EnqueueTx(ctx, &gue.Job{Type: "Greet", Args: []byte(`"pgx v3"`)}, pgxv3.NewTx(tx)); err != nil {
		log.Fatal(err)
	}
	if err := tx.CommitEx(ctx); err != nil {
		log.Fatal(err)
	}

	w := gue.NewWorker(gc, gue.WorkMap{"Greet": func(j *gue.Job) error {
		ptx, _ := pgxv3.UnwrapTx(j.Tx()) // the job's transaction as a *pgx.Tx
		var greeting string
		if err := ptx.QueryRowEx(j.Context(), "SELECT 'Hello, ' || ($1::json #>> '{}')", nil, string(j.Args)).Scan(&greeting); err != nil {
			return err
		}
		fmt.Println(greeting)
		return nil
	}}, gue.WithWorkerSchema("example_pgxv3"))
	fmt.Println("worked:", w.WorkOne(ctx))
	// Output:
	// Hello, pgx v3
	// worked: true
}
