#!/usr/bin/env bash
# Runs the benchmarks and writes BENCHMARKS.md: builds riff, the sample functions and
# riff-bench in release mode, then measures. Needs tansu (tests/run.sh installs it).
#
# Knobs (riff-bench --help): --messages N (records per throughput job, default 1 000 000;
# count-1 windows get N/10), --only copy,kafka,count1,memory,footprint,controller,protocol,
# --overload SECONDS, --plain-copy-commit flush|acked, --out FILE.
# A smoke test: bench/run.sh --messages 20000 --overload 5 --out /tmp/bench.md
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
target/release/riff-bench "$@"
