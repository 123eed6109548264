GO ?= go

.PHONY: run test bench fuzz build vet chaos failover

## run: the playground: a console chat with embedded Redis and emulated clouds
run:
	$(GO) run ./cmd/resetbot playground

## test: every test, with the race detector, against a real redis-server
test:
	$(GO) vet ./...
	./scripts/with-redis.sh $(GO) test -race -count=1 -timeout 8m ./...

## bench: Go benchmarks on real Redis, then the load tool at the cloud's rate limit and without it
bench:
	./scripts/with-redis.sh $(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 20m ./...
	./scripts/with-redis.sh $(GO) run ./cmd/resetbot-load -requests 200
	./scripts/with-redis.sh $(GO) run ./cmd/resetbot-load -requests 500 -rate 1000

## fuzz: fuzz the command parser for a minute
fuzz:
	$(GO) test ./bot -run '^$$' -fuzz FuzzParse -fuzztime 60s

build:
	$(GO) build -o bin/resetbot ./cmd/resetbot

## chaos: three replicas on one Redis under load, with faults; prints the figures (about a minute and a half)
chaos:
	$(GO) run ./cmd/resetbot-chaos

## failover: the Sentinel failover under traffic alone, with its figures (it is in `test` too)
failover:
	./scripts/with-redis.sh $(GO) test -race -count=1 -run TestServiceSentinelFailoverMidTraffic -v ./bot
