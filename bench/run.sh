#!/usr/bin/env bash
# Runs the benchmarks and writes BENCHMARKS.md: builds riff, the sample functions and
# riff-bench in release mode, then measures. Needs tansu (tests/run.sh installs it).
#
# Knobs (riff-bench --help): --messages N (records per throughput job, default 1 000 000;
# count-1 windows get N/10, window kinds N/5), --only copy,kafka,windows,telemetry,count1,memory,poison,footprint,idle,light,controller,protocol
# (pass-through, never by default: riff's 1 s Kafka pass-through alone, for profiles and A/B),
# --overload SECONDS, --plain-copy-commit flush|acked, --out FILE.
# A smoke test: bench/run.sh --messages 20000 --overload 5 --out /tmp/bench.md
# A profile: cargo build --profile profiling --workspace --bins (release with line tables), run
# target/profiling/riff-bench --only pass-through, and attach `perf record --call-graph dwarf -p`
# to its second `riff local run` (the first is the warm-up).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
target/release/riff-bench "$@"
