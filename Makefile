# Flick: `make run` to build and start it, `make test` to prove it works. Both install what they need.
SHELL := /bin/bash
CARGO ?= cargo
RELEASE_BIN := target/release/flick

.PHONY: run build ui test test-postgres deps fixtures check fmt clean bench bench-smoke

## run: build the release binary and start Flick with its embedded defaults (http://127.0.0.1:8080/)
run: deps build
	$(RELEASE_BIN) serve

## build: build the web app (web/dist), then target/release/flick with the app inside it
build: ui
	$(CARGO) build --release --locked

## ui: build the web app (Svelte + Vite) into web/dist
ui:
	@bash scripts/build-ui.sh

## test: install what the tests need, make the fixtures, run every test (Rust on SQLite and on PostgreSQL, web unit,
## web end-to-end)
test: deps fixtures ui
	$(CARGO) test --workspace --locked
	$(MAKE) --no-print-directory -o deps -o fixtures -o ui test-postgres
	cd web && npm test
	$(CARGO) build --release --locked -p flick
	FLICK_SCREENSHOTS=$(CURDIR)/target/e2e bash scripts/web-e2e.sh

## test-postgres: the storage tests and the end-to-end story again, on a throwaway PostgreSQL (scripts/postgres.sh)
test-postgres: deps fixtures ui
	@bash scripts/postgres.sh stop
	@url="$$(bash scripts/postgres.sh start)" && trap 'bash scripts/postgres.sh stop' EXIT && \
	FLICK_TEST_DATABASE_URL="$$url" $(CARGO) test --locked -p flick-storage && \
	FLICK_TEST_DATABASE_URL="$$url" $(CARGO) test --locked -p flick --test formats --test access --test bad_input --test crash --test cluster

## deps: install ffmpeg on a fresh Debian/Ubuntu machine when it is missing
deps:
	@bash scripts/install-deps.sh

## fixtures: derive the test clips from ../shared/media (cached in target/fixtures)
fixtures:
	@bash scripts/fixtures.sh

## bench: time-to-stream, ingest and serving beside their references (long); writes target/bench/report.md
bench: deps build
	@bash bench/install-tools.sh
	@bash bench/inputs.sh full
	python3 bench/bench.py

## bench-smoke: the benchmark on one 10 s clip, one run (about a minute): keeps the harness from rotting
bench-smoke: deps build
	@bash bench/inputs.sh smoke
	python3 bench/bench.py --smoke

## check: formatting and lints
check:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
