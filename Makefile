# Studio: `make run` opens the studio on ./workspace; `make test` passes the whole suite.
# Both create the virtual environment on first use. Torch is installed first from $(TORCH), so a
# CPU machine keeps its CPU build and a GPU box can say e.g. `make run TORCH=torch==2.11.0`.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
WORKSPACE ?= workspace
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: run test tmux check lint format types contracts bench clean help

help:
	@echo "make run     create .venv, install Studio, open it on ./$(WORKSPACE)"
	@echo "make test    create .venv if needed and run the whole test suite"
	@echo "make check   ruff, mypy, import contracts, then the tests"
	@echo "make bench   studio bench (blog recipe vs Studio's default) and the start-up benchmark"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/studio $(WORKSPACE)

test: $(STAMP) tmux
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=12

tmux:
	@command -v tmux >/dev/null 2>&1 || { \
	  echo "installing tmux (terminal tests drive the real studio binary in it)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq tmux >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq tmux >/dev/null; fi; }

lint: $(STAMP)
	$(BIN)/ruff check studio tests benchmarks
	$(BIN)/ruff format --check studio tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format studio tests benchmarks
	$(BIN)/ruff check --fix studio tests benchmarks

types: $(STAMP)
	$(BIN)/mypy studio

contracts: $(STAMP)
	$(BIN)/lint-imports

check: lint types contracts test

bench: $(STAMP)
	$(BIN)/studio bench
	$(BIN)/python benchmarks/startup.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
