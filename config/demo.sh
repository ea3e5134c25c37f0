#!/usr/bin/env bash
# The riff docs' time-averager example, end to end on this machine: no cluster, no broker.
# Builds riff and the sample functions, runs config/time-averager, publishes numbers to `in`
# and prints the averages the processor writes to `out`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bins --workspace
riff=target/debug/riff
log=$(mktemp)
"$riff" local run -f config/time-averager 2>"$log" &
runtime=$!
trap 'kill $runtime 2>/dev/null; wait $runtime 2>/dev/null; rm -f "$log"' EXIT
until "$riff" local subscribe out --count 0 2>/dev/null; do
  kill -0 $runtime 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.2
done
echo "Averages written to stream 'out' (one per second of input, windows of 5 s):"
"$riff" local subscribe out --count 4 &
subscriber=$!
sleep 0.5
for n in $(seq 1 30); do
  "$riff" local publish in --content-type application/json --payload "$n" 2>/dev/null
  sleep 0.1
done
wait $subscriber
