# Every target loops over the modules of go.work, so a new module is covered
# as soon as it is added there.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
MODULES = $(shell go list -m -f '{{.Dir}}')

.PHONY: build check check-db-stop test test-citus lint tidy quickstart test-env bench bench-compare fuzz
.DEFAULT_GOAL := build

## build: every module, and the operator CLI as bin/gue
build:
	@for m in $(MODULES); do (cd $$m && go build ./...); done
	@cd cmd/gue && go build -o ../../bin/gue .
	@echo "built bin/gue"

## check: before each commit, in about 3 minutes: gofmt, go vet, core's unit tests, conformance on pgx v5 (-short), lying adapter, CLI, dashboard (no browser); no Docker (scripts/check.sh)
check:
	@scripts/check.sh

## check-db-stop: stop the PostgreSQL that make check keeps running, and remove its data
check-db-stop:
	@scripts/check-db.sh stop

## test: every module's tests with -race, on testcontainers PostgreSQL (see docs/development.md)
test:
	@scripts/gotest.sh $(MODULES)

## test-citus: the conformance suite (pgx v5, lib/pq) and the multi-process scenarios on a local Citus cluster (needs ../shared/citus; skipped without it)
test-citus:
	@scripts/test-citus.sh

## lint: gofmt, go vet, core's zero-require rule, the test runner's self-check, drivers' go.mod hygiene and pgx v4/v5 drift
lint:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && go vet ./...); done
	@if grep -Eq '^[[:space:]]*require' core/go.mod; then echo "core/go.mod must have no require line"; exit 1; fi
	@scripts/gotest-selfcheck.sh
	@scripts/check-driver-modules.sh
	@scripts/check-driver-drift.sh
	@echo "lint ok"

## tidy: go mod tidy in every module, standalone (GOWORK=off), as users build them
tidy:
	@for m in $(MODULES); do (cd $$m && GOWORK=off go mod tidy); done

## quickstart: run the quickstart example on DATABASE_URL or a disposable PostgreSQL
quickstart:
	@EXAMPLE=$(EXAMPLE) scripts/quickstart.sh $(ARGS)

## test-env: install Docker and build the local PostgreSQL image (no registry needed)
test-env:
	@scripts/test-env.sh

## bench: LockJob cost at 10k and 1M ready jobs
bench:
	@cd conformance/drivertest && go test -run '^$$' -bench BenchmarkLockJob -benchtime 2000x -count 1 ./pgxv4

## bench-compare: gue-go's three modes against River and gue v5, side by side: BENCHMARKS.md's first table (about 7 minutes)
bench-compare:
	@cd bench && go run . -jobs 200000 -workers 50 -duration 15s -latency-samples 200 \
		-systems gue-go,gue-go-batch,gue-go-session,river-own,river,gue-v5,limit-default,limit-batch

## fuzz: fuzz queue names, args and schema names against real PostgreSQL (FUZZTIME=30s each)
FUZZTIME ?= 30s
fuzz:
	@cd reliability && for f in FuzzQueueAndArgs FuzzSchemaName; do go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) . || exit 1; done
