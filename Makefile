# Flick: `make run` to build and start it, `make test` to prove it works. Both install what they need.
SHELL := /bin/bash
CARGO ?= cargo
RELEASE_BIN := target/release/flick

.PHONY: run build ui test deps fixtures check fmt clean

## run: build the release binary and start Flick with its embedded defaults (http://127.0.0.1:8080/)
run: deps build
	$(RELEASE_BIN) serve

## build: build the web app (web/dist), then target/release/flick with the app inside it
build: ui
	$(CARGO) build --release --locked

## ui: build the web app (Svelte + Vite) into web/dist
ui:
	@bash scripts/build-ui.sh

## test: install what the tests need, make the fixtures, run every test (Rust, web unit, web end-to-end)
test: deps fixtures ui
	$(CARGO) test --workspace --locked
	cd web && npm test
	FLICK_SCREENSHOTS=$(CURDIR)/target/e2e bash scripts/web-e2e.sh

## deps: install ffmpeg on a fresh Debian/Ubuntu machine when it is missing
deps:
	@bash scripts/install-deps.sh

## fixtures: derive the test clips from ../shared/media (cached in target/fixtures)
fixtures:
	@bash scripts/fixtures.sh

## check: formatting and lints
check:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
