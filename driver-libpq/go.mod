module github.com/gue-go/gue/driver-libpq

go 1.23.0

replace github.com/gue-go/gue/core => ../core

require github.com/gue-go/gue/core v0.0.0-00010101000000-000000000000

require github.com/lib/pq v1.10.9
