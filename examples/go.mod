module github.com/gue-go/gue/examples

go 1.23.0

replace (
	github.com/gue-go/gue/conformance => ../conformance
	github.com/gue-go/gue/core => ../core
	github.com/gue-go/gue/driver-libpq => ../driver-libpq
	github.com/gue-go/gue/driver-pgxv3 => ../driver-pgxv3
	github.com/gue-go/gue/driver-pgxv4 => ../driver-pgxv4
	github.com/gue-go/gue/driver-pgxv5 => ../driver-pgxv5
	github.com/gue-go/gue/otel => ../otel
)

require (
	github.com/gue-go/gue/core v0.0.0-00010101000000-000000000000
	github.com/gue-go/gue/driver-libpq v0.0.0-00010101000000-000000000000
	github.com/gue-go/gue/driver-pgxv3 v0.0.0-00010101000000-000000000000
	github.com/gue-go/gue/driver-pgxv4 v0.0.0-00010101000000-000000000000
	github.com/gue-go/gue/driver-pgxv5 v0.0.0-00010101000000-000000000000
	github.com/gue-go/gue/otel v0.0.0-00010101000000-000000000000
	github.com/jackc/pgx v3.6.2+incompatible
	github.com/jackc/pgx/v4 v4.18.3
	github.com/jackc/pgx/v5 v5.7.6
	github.com/lib/pq v1.12.3
	go.opentelemetry.io/otel v1.35.0
	go.opentelemetry.io/otel/exporters/stdout/stdoutmetric v1.35.0
	go.opentelemetry.io/otel/exporters/stdout/stdouttrace v1.35.0
	go.opentelemetry.io/otel/sdk v1.35.0
	go.opentelemetry.io/otel/sdk/metric v1.35.0
	golang.org/x/sync v0.13.0
)

require (
	github.com/go-logr/logr v1.4.2 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/jackc/chunkreader/v2 v2.0.1 // indirect
	github.com/jackc/pgconn v1.14.3 // indirect
	github.com/jackc/pgio v1.0.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgproto3/v2 v2.3.3 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/pgtype v1.14.0 // indirect
	github.com/jackc/puddle v1.3.0 // indirect
	github.com/jackc/puddle/v2 v2.2.2 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	go.opentelemetry.io/auto/sdk v1.1.0 // indirect
	go.opentelemetry.io/otel/metric v1.35.0 // indirect
	go.opentelemetry.io/otel/trace v1.35.0 // indirect
	golang.org/x/crypto v0.37.0 // indirect
	golang.org/x/sys v0.32.0 // indirect
	golang.org/x/text v0.24.0 // indirect
)
