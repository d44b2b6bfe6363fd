# Zhengxiang (郑享). Run `make help` for the targets.

GO       ?= go
BIN      ?= bin/zhengxiang
# The MDRP benchmark instances sit in the shared folder next to the repository.
MDRP_DIR ?= ../shared/data/mdrp
# Replay tables and other run outputs (not committed).
OUT      ?= out
# buf, pinned; it runs the local protoc-gen-go pinned by the tool directive of go.mod.
BUF      ?= $(GO) run github.com/bufbuild/buf/cmd/buf@v1.75.0

SHELL       := bash
.SHELLFLAGS := -euo pipefail -c

.DEFAULT_GOAL := build

# Optional baselines for `make services-up`, e.g. WITH=redis,postgis.
WITH     ?=

.PHONY: help build demo test replay bench fmt fmt-check vet clean services-up services-down services-status generate generate-check api-check api-load

help:
	@echo "make build    build $(BIN)"
	@echo "make demo     run the live service, its API and console on the embedded default (go run ./cmd/zhengxiang demo)"
	@echo "make test     start the services (deploy/services.sh up), then run the whole test suite against them"
	@echo "make replay   replay every MDRP instance of $(MDRP_DIR) with engine and greedy; tables in $(OUT)/"
	@echo "make bench    geo benchmarks and the rider index at 100 000 riders"
	@echo "make fmt      gofmt the sources"
	@echo "make vet      go vet the sources"
	@echo "make services-up     start Kafka (127.0.0.1:19092) and PostgreSQL (127.0.0.1:15432); WITH=redis,postgis adds the baselines"
	@echo "make services-down   stop the services this checkout started (data kept)"
	@echo "make services-status what runs, pids and ports"
	@echo "make generate lint the protos of api/proto and regenerate api/gen (committed)"
	@echo "make generate-check  fail when api/gen is not what make generate makes (run by make test)"
	@echo "make api-check  schemathesis against serve on the embedded default, per role's key and without (bench/api/schemathesis.sh)"
	@echo "make api-load   wrk on loopback: tracking reads and order creation, paced and saturated (bench/api/load.sh)"

build:
	$(GO) build -o $(BIN) ./cmd/zhengxiang

demo:
	$(GO) run ./cmd/zhengxiang demo

# The services come up first (idempotent; Kafka is fetched from Maven Central
# on the first run only); tests that need them read .services.env and, with
# ZX_REQUIRE_SERVICES=1, fail instead of skipping when a service is missing.
# The crash tests restart Kafka and PostgreSQL, so they run alone, after the
# rest.
test: fmt-check generate-check
	deploy/services.sh up
	set -a; . ./.services.env; set +a; ZX_REQUIRE_SERVICES=1 $(GO) test -timeout 30m -skip '^TestCrashSafety$$' ./...
	set -a; . ./.services.env; set +a; ZX_REQUIRE_SERVICES=1 $(GO) test -timeout 20m -run '^TestCrashSafety$$' ./cmd/zhengxiang

services-up:
	deploy/services.sh up $(if $(WITH),--with $(WITH))

services-down:
	deploy/services.sh down

services-status:
	deploy/services.sh status

replay: build
	mkdir -p $(OUT)
	$(BIN) replay mdrp --algo engine $(MDRP_DIR)/*/ | tee $(OUT)/replay-engine.txt
	$(BIN) replay mdrp --algo greedy $(MDRP_DIR)/*/ | tee $(OUT)/replay-greedy.txt

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./geo/...
	$(BIN) bench geo --riders 100000

fmt:
	$(GO) fmt ./...

# fmt-check fails, naming the files, when a source is not as gofmt writes it.
fmt-check:
	@files=$$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path '*/node_modules/*' -not -path './.services/*'); \
	out=$$("$$($(GO) env GOROOT)/bin/gofmt" -l $$files </dev/null); \
	if [ -n "$$out" ]; then echo "not gofmt-ed (make fmt):"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

generate:
	cd api && $(BUF) lint && $(BUF) generate

# The public API against its OpenAPI document, with schemathesis (installed
# from PyPI into a cache folder on the first run); outputs in $(OUT)/schemathesis.
api-check:
	OUT=$(OUT)/schemathesis bench/api/schemathesis.sh

# Load on loopback with wrk (Debian's package, installed when missing);
# outputs in $(OUT)/load.
api-load:
	OUT=$(OUT)/load bench/api/load.sh

# The committed api/gen must be what the protos generate, byte for byte.
generate-check: generate
	@git diff --exit-code --stat -- api/gen || { echo "api/gen differs from what 'make generate' makes: run it and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- api/gen)" || { git status --short -- api/gen; echo "api/gen has files 'make generate' does not make, or makes files not committed"; exit 1; }

clean:
	rm -rf bin $(OUT)
