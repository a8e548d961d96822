package adapter

import "context"

// CopyFromer is an optional capability of a ConnPool or Tx: bulk loading
// with COPY ... FROM STDIN. The engine uses it for EnqueueBatch when the
// Queryable it writes through implements it, and falls back to a multi-row
// INSERT otherwise.
type CopyFromer interface {
	// CopyFrom loads rows into table (schema-qualified as given, each part an
	// unquoted name) with the columns named, and returns the number of rows
	// copied. Values follow the types accepted by Queryable; a nil value is
	// NULL.
	CopyFrom(ctx context.Context, table []string, columns []string, rows [][]any) (int64, error)
}
