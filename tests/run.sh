#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need (the real riff
# node function invoker from npm), builds every binary the end-to-end tests start, and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
invoker=.tools/node-invoker
if [ ! -f "$invoker/node_modules/@projectriff/node-function-invoker/server.js" ]; then
  npm install --silent --no-audit --no-fund --prefix "$invoker" @projectriff/node-function-invoker@0.3.0
fi
cargo build --workspace --bins
cargo test --workspace "$@"
