// Package pgxv3 adapts github.com/jackc/pgx v3 (v3.6.2+incompatible) to the
// ports of github.com/gue-go/gue/core/adapter, for code bases that still run
// on pgx v3.
//
// Security: pgx v3 is unmaintained and has an unfixed advisory,
// GO-2024-2605 / CVE-2024-27304 (SQL injection through protocol message size
// overflow). Prefer driver-pgxv5 (or driver-pgxv4 >= v4.18.2); use this
// module only while migrating a legacy code base.
//
// pgx errors are translated into the adapter sentinels: pgx.ErrNoRows into
// adapter.ErrNoRows, pgx.ErrTxClosed into adapter.ErrTxClosed and
// pgx.ErrClosedPool into adapter.ErrPoolClosed.
package pgxv3
