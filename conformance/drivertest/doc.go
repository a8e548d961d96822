// Package drivertest runs the conformance suite and each first-party driver's
// own database tests (UnwrapTx, UnwrapPool, the LockJob benchmark) against
// real PostgreSQL.
//
// It is a module of its own, apart from the drivers, so that a driver's
// go.mod lists core and its database driver only: a user who depends on a
// driver never pulls testcontainers or Docker's modules into their go.sum.
// Third-party adapters run the suite the same way: a test that calls
// conformance.Run with their adapter.
package drivertest
