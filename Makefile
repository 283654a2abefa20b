# framewire's targets are what CI runs (.ci/run). Tools are pinned in go.mod
# or by version below.
GO       ?= go
FUZZTIME ?= 10s
BENCHTIME ?= 1s
# The interop package needs the bed of real servers; make interop runs it.
UNIT_PKGS = $$($(GO) list ./... | grep -v '/interop$$')

.PHONY: all api demo test racecheck vet fmt-check unit purego fuzz bench compare conformance interop lint

all: test

# The main job: an embedded loopback server and a short session through the
# public API, printed in wsdump's trace format.
demo:
	$(GO) run ./cmd/wsdemo

# vet, gofmt, the race detector with shuffled order, then the pure-Go build.
# The race detector needs cgo and a C compiler: racecheck fails first, saying
# what to install, rather than run the tests without it.
test: racecheck vet fmt-check unit purego

racecheck:
	@GO=$(GO) bash scripts/racecheck.sh

vet:
	$(GO) vet ./...
	$(GO) vet -tags purego ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit: racecheck
	$(GO) test -race -shuffle=on -count=1 $(UNIT_PKGS)

purego:
	$(GO) test -tags purego -count=1 $(UNIT_PKGS)

# Every native fuzz target for FUZZTIME each (make fuzz FUZZTIME=1m).
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

# framewire against gorilla, coder, gobwas and gws (the nested module bench/,
# about 12 minutes).
compare:
	cd bench && $(GO) vet ./... && $(GO) test -run '^$$' -bench . -benchmem -count 5 | tee compare.txt
	cd bench && $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da compare.txt

# The Autobahn-style client conformance suite over HTTP/1.1 and over HTTP/2
# (RFC 8441, h2c), both at once; writes docs/conformance.md and
# docs/conformance.json, which hold no timings, and prints the timings.
# Sections 12 and 13 send Autobahn's 1000 messages per case.
conformance:
	$(GO) run ./cmd/wsconformance -transport both -messages 1000 -report docs

# Real servers and proxies from Debian and npm on loopback.
interop:
	bash interop/run.sh

# The exported identifiers of each public package (make api V=-v lists them).
api:
	$(GO) run ./internal/apisurface $(V)

lint: vet fmt-check
	$(GO) test -count=1 ./internal/layering/
