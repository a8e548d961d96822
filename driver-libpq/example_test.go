package libpq_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/driver-libpq"
	_ "github.com/lib/pq" // registers database/sql driver "postgres"
)

// Enqueue a job inside the application's transaction and work it with a
// handler that queries through database/sql in the job's own transaction.
func Example() {
	ctx := context.Background()
	db, err := sql.Open("postgres", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxIdleConns(10) // keep connections for reuse (database/sql keeps 2)
	pool := libpq.NewConnPool(db)
	if err := gue.Migrate(ctx, pool, "example_libpq"); err != nil {
		log.Fatal(err)
	}
	gc := gue.NewClient(pool, gue.WithClientSchema("example_libpq"))

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := gc.EnqueueTx(ctx, &gue.Job{Type: "Greet", Args: []byte(`"lib/pq"`)}, libpq.NewTx(tx)); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}

	w := gue.NewWorker(gc, gue.WorkMap{"Greet": func(j *gue.Job) error {
		stx, _ := libpq.UnwrapTx(j.Tx()) // the job's transaction as a *sql.Tx
		var greeting string
		if err := stx.QueryRowContext(j.Context(), "SELECT 'Hello, ' || ($1::json #>> '{}')", string(j.Args)).Scan(&greeting); err != nil {
			return err
		}
		fmt.Println(greeting)
		return nil
	}}, gue.WithWorkerSchema("example_libpq"))
	fmt.Println("worked:", w.WorkOne(ctx))
	// Output:
	// Hello, lib/pq
	// worked: true
}
