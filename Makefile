# Every target bootstraps .venv from nothing (Python 3.11+), so a fresh clone needs no other step.
# The first interpreter that runs and is 3.11+ (pyenv shims can exist for versions that are not active).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && echo $$p && break; done)
PYTHON := $(PYTHON)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED ?= ../shared/data
OUT ?= out

.PHONY: demo demo-live test lint typecheck bench schema clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required (python3.11 --version)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/stds replay $(SHARED)/binance/spot/ccxt_ohlcv/1m/BTCUSDT/BTCUSDT_1m_marzo_2025.csv \
		--strategy sma_cross --param fast=10 --param slow=30 --param qty=0.5 --out $(OUT)/demo

# Live pipeline against a local Binance replaying a recorded day at 3600x (a market day in ~25 s), fills printed as they happen.
demo-live: $(STAMP)
	$(BIN)/stds run --symbols BTC/USDT --strategy sma_cross --param qty=0.5 \
		--local-exchange $(SHARED)/binance/spot/klines/1m/BTCUSDT --speed 3600 --silence 2 --out $(OUT)/demo-live

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -n 2 tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m infra.bench

schema: $(STAMP)
	$(BIN)/stds schema --out $(OUT)/schema

clean:
	rm -rf $(VENV) $(OUT) .mypy_cache .pytest_cache .ruff_cache
