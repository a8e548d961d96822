module github.com/gue-go/gue/driver-pgxv3

go 1.23.0

replace github.com/gue-go/gue/core => ../core

require (
	github.com/gue-go/gue/core v0.0.0-00010101000000-000000000000
	github.com/jackc/pgx v3.6.2+incompatible
)

require (
	github.com/cockroachdb/apd v1.1.0 // indirect
	github.com/gofrs/uuid v4.4.0+incompatible // indirect
	github.com/jackc/fake v0.0.0-20150926172116-812a484cc733 // indirect
	github.com/lib/pq v1.12.3 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/shopspring/decimal v1.6.0 // indirect
	golang.org/x/crypto v0.36.0 // indirect
	golang.org/x/text v0.23.0 // indirect
)
