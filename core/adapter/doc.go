// Package adapter defines the ports between the gue queue engine and a
// PostgreSQL driver, and the logging port the engine reports through.
//
// A driver module (driver-pgxv4, driver-libpq, ...) implements ConnPool and Tx
// for one driver and translates that driver's errors into the sentinels of this
// package (ErrNoRows, ErrTxClosed, ErrPoolClosed), so the engine and the
// conformance suite never look at driver-specific errors or strings.
//
// The ports are deliberately small. Capabilities that only some drivers have
// (COPY, LISTEN/NOTIFY, pipelining and chained pipelines, the pool's size;
// capabilities.go) are added as separate, optional interfaces that the engine discovers with a type assertion on the
// ConnPool or Tx value; an adapter that lacks them keeps working through the
// plain ports.
package adapter
