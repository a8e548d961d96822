// Package conformance is the behaviour suite every gue adapter must pass,
// against real PostgreSQL.
//
// An adapter's own tests call Run with a function that opens an
// adapter.ConnPool for a DSN:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T, dsn string) adapter.ConnPool {
//			pool, err := pgxpool.Connect(context.Background(), dsn)
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(pool.Close)
//			return pgxv4.NewConnPool(pool)
//		})
//	}
//
// PostgreSQL comes from GUE_TEST_DATABASE_URL when it is set (a role allowed
// to create databases), otherwise from a container started once per test
// binary with testcontainers-go, from the image named by
// GUE_TEST_POSTGRES_IMAGE (default DefaultImage). Every test gets a database
// of its own, so tests run in parallel. Call Terminate from TestMain to stop
// the container when the tests end.
package conformance
