# Flick: `make run` to build and start it, `make test` to prove it works. Both install what they need.
SHELL := /bin/bash
CARGO ?= cargo
RELEASE_BIN := target/release/flick

# Test servers of the scaled set-up (throwaway, loopback only).
PG := bash scripts/postgres.sh
GARAGE := bash scripts/garage.sh

.PHONY: run build ui test test-scaled deps fixtures check fmt clean bench bench-smoke bench-storage

## run: build the release binary and start Flick with its embedded defaults (http://127.0.0.1:8080/)
run: deps build
	$(RELEASE_BIN) serve

## build: build the web app (web/dist), then target/release/flick with the app inside it
build: ui
	$(CARGO) build --release --locked

## ui: build the web app (Svelte + Vite) into web/dist
ui:
	@bash scripts/build-ui.sh

## test: install what the tests need, make the fixtures, run every test (Rust on SQLite + disk and on
## PostgreSQL + S3, web unit, web end-to-end)
test: deps fixtures ui
	$(CARGO) test --workspace --locked
	$(MAKE) --no-print-directory -o deps -o fixtures -o ui test-scaled
	cd web && npm test
	$(CARGO) build --release --locked -p flick
	FLICK_SCREENSHOTS=$(CURDIR)/target/e2e bash scripts/web-e2e.sh

## test-scaled: the storage tests and the end-to-end story again on the scaled set-up: a throwaway PostgreSQL
## (scripts/postgres.sh) and a Garage S3 server (scripts/garage.sh, cargo-installed once when missing), plus the
## cluster tests (API nodes and workers sharing only those two)
test-scaled: deps fixtures ui
	@$(PG) stop; $(GARAGE) stop
	@url="$$($(PG) start)" && s3="$$($(GARAGE) start)" && trap '$(PG) stop; $(GARAGE) stop' EXIT && \
	eval "$$s3" && export FLICK_TEST_DATABASE_URL="$$url" && \
	$(CARGO) test --locked -p flick-storage && \
	$(CARGO) test --locked -p flick --test e2e -- formats:: access:: bad_input:: crash:: cluster:: scale_out:: \
		migrate:: metrics:: live:: privacy:: fairness:: ladder::

## deps: install ffmpeg on a fresh Debian/Ubuntu machine when it is missing
deps:
	@bash scripts/install-deps.sh

## fixtures: derive the test clips from ../shared/media (cached in target/fixtures)
fixtures:
	@bash scripts/fixtures.sh

## bench: time-to-stream (after and during the upload), ingest, serving, a Chromium viewer and a load test (viewers,
## re-encodes and an attacker at once), each beside its reference (long); writes target/bench/report.md
bench: deps build
	@bash bench/install-tools.sh
	@bash bench/inputs.sh full
	python3 bench/bench.py

## bench-smoke: the benchmark on one 10 s clip, one run, one upload paced at 20 Mbit/s (about a minute): keeps the
## harness from rotting
bench-smoke: deps build
	@bash bench/inputs.sh smoke
	python3 bench/bench.py --smoke

## bench-storage: TTFP with blobs in S3 (Garage on loopback) beside local disk; writes target/bench/storage/report.md
bench-storage: deps build
	@$(GARAGE) install
	python3 bench/storage.py

## check: formatting and lints
check:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
