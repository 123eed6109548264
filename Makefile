GO ?= go

.PHONY: run test bench fuzz build vet

## run: the playground: a console chat with embedded Redis and emulated clouds
run:
	$(GO) run ./cmd/resetbot playground

## test: every test, with the race detector, against a real redis-server
test:
	$(GO) vet ./...
	./scripts/with-redis.sh $(GO) test -race -count=1 -timeout 8m ./...

## bench: Go benchmarks on real Redis
bench:
	./scripts/with-redis.sh $(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 20m ./...

## fuzz: fuzz the command parser for a minute
fuzz:
	$(GO) test ./bot -run '^$$' -fuzz FuzzParse -fuzztime 60s

build:
	$(GO) build -o bin/resetbot ./cmd/resetbot
