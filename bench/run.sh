#!/usr/bin/env bash
# Runs the benchmarks and writes BENCHMARKS.md: builds riff, the sample functions and
# riff-bench in release mode, then measures. Needs tansu (tests/run.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
target/release/riff-bench "$@"
