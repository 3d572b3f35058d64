#!/usr/bin/env bash
# Runs every check and test: formatting, lints, Rust tests, TypeScript type tests and the JS
# tests against the built package and a real runloop-local. Expects scripts/setup.sh and
# scripts/build.sh to have run (npm test runs them first).
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

step "rustfmt"
cargo fmt --all --check

step "clippy (native, all targets)"
cargo clippy --quiet --workspace --all-targets -- -D warnings

step "clippy (wasm32 SDK)"
cargo clippy --quiet -p runloop-wasm --target wasm32-unknown-unknown -- -D warnings

step "Rust tests"
cargo test --quiet --workspace

step "TypeScript type tests (tsc --strict)"
tsc -p tests/types --noEmit

step "benchmark smoke run: a few repetitions at small sizes; fails only when something is broken"
node bench/run.mjs --smoke

step "JS tests against the package and runloop-local"
cargo build --quiet -p runloop-local
node --test --test-reporter=spec tests/
