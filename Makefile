# Zhengxiang (郑享). Run `make help` for the targets.

GO       ?= go
BIN      ?= bin/zhengxiang
# The MDRP benchmark instances sit in the shared folder next to the repository.
MDRP_DIR ?= ../shared/data/mdrp
# Replay tables and other run outputs (not committed).
OUT      ?= out

SHELL       := bash
.SHELLFLAGS := -euo pipefail -c

.DEFAULT_GOAL := build

.PHONY: help build demo test replay bench fmt vet clean

help:
	@echo "make build    build $(BIN)"
	@echo "make demo     simulate a festival day on the embedded default and serve it (go run ./cmd/zhengxiang demo)"
	@echo "make test     run the whole test suite"
	@echo "make replay   replay every MDRP instance of $(MDRP_DIR) with engine and greedy; tables in $(OUT)/"
	@echo "make bench    geo benchmarks and the rider index at 100 000 riders"
	@echo "make fmt      gofmt the sources"
	@echo "make vet      go vet the sources"

build:
	$(GO) build -o $(BIN) ./cmd/zhengxiang

demo:
	$(GO) run ./cmd/zhengxiang demo

test:
	$(GO) test -timeout 20m ./...

replay: build
	mkdir -p $(OUT)
	$(BIN) replay mdrp --algo engine $(MDRP_DIR)/*/ | tee $(OUT)/replay-engine.txt
	$(BIN) replay mdrp --algo greedy $(MDRP_DIR)/*/ | tee $(OUT)/replay-greedy.txt

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./geo/...
	$(BIN) bench geo --riders 100000

fmt:
	$(GO) fmt ./...

vet:
	$(GO) vet ./...

clean:
	rm -rf bin $(OUT)
