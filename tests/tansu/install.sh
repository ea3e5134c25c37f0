#!/usr/bin/env bash
# Installs the test broker: tansu 0.6.0 with its memory and SQLite storage engines, built from
# the crates.io sources with the patches of this directory, into $CARGO_HOME/tansu-0.6.0-riff4
# (the suffix names the patch set: a new patch gets a new suffix, so an older build is never
# reused). About 12 minutes once; nothing when the binary is there.
#
# fetch-from-inside-a-batch.patch: tansu 0.6.0's memory engine answers a fetch only with the
# batches that start at or after the offset asked for, so a consumer resuming from a committed
# position inside a batch never receives the rest of that batch (reproduced with a plain
# confluent-kafka consumer: 10 records produced in one batch, a fetch from offset 5 returns
# nothing). Kafka returns the batch holding the offset and the client skips the records before
# it; so does the patched engine. riff commits the position after each window, which may fall
# anywhere in a batch. The patched engine also serves only batches that follow one another from
# the offset asked for: a produce makes its offsets visible before it stores its batch, so a
# fetch can find a batch missing while a later one is stored; serving the later one skipped the
# missing batch, and serving the batch before the offset (when the batch at the offset was not
# stored yet) repeated records (delivery::a_poison_record... saw one input record 3 to 13 times).
#
# fetch-continues-after-the-last-batch.patch: a fetch is answered by reading storage in rounds
# until nothing new comes; each round started at the offset asked for plus the records returned
# so far. After a fetch from inside a batch, that overshoots by the records of the first batch
# before the offset, and when a batch of fewer records arrived in between, the next round skipped
# it: the consumer never received it (the fault-injection suite lost one input batch, 8 or 12
# records, in about half of its runs). The next round now starts after the last batch returned.
#
# fetch-from-an-index-of-batches.patch: each fetch listed every batch object of its partition,
# so a fetch cost grew with the partition's batches and a busy partition of small batches
# saturated the broker within seconds (what the count-1 latency figures of bench/run.sh then
# measured). Fetches now read the batches' offsets from an index the engine keeps in memory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="${CARGO_HOME:-$HOME/.cargo}/tansu-0.6.0-riff4"
[ -x "$root/bin/tansu" ] && exit 0

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fetch() { # crate version sha256
  curl -sSfL --retry 3 -o "$work/$1.crate" "https://static.crates.io/crates/$1/$1-$2.crate"
  echo "$3  $work/$1.crate" | sha256sum --check --quiet
  tar xzf "$work/$1.crate" -C "$work"
}
fetch tansu 0.6.0 4fdd85473ec265140488cf8d55e82b844f5c051c8916fabdd4a71156ac053f6d
fetch tansu-storage 0.6.0 720d2ed8e6010c70f7f06e5af5a7274ebbf6e42fdcd9e46de542b10dc4d2f35d
for fix in fetch-from-inside-a-batch fetch-continues-after-the-last-batch fetch-from-an-index-of-batches; do
  patch --quiet -d "$work/tansu-storage-0.6.0" -p1 < "$here/$fix.patch"
done

# The binary crate builds with the patched storage crate and otherwise exactly its own lock file.
printf '\n[patch.crates-io]\ntansu-storage = { path = "../tansu-storage-0.6.0" }\n' \
  >> "$work/tansu-0.6.0/Cargo.toml"
python3 - "$work/tansu-0.6.0/Cargo.lock" <<'PY'
import re, sys
path = sys.argv[1]
lock = open(path).read()
entry = re.compile(r'(name = "tansu-storage"\nversion = "0.6.0"\n)source = [^\n]*\nchecksum = [^\n]*\n')
lock, found = entry.subn(r'\1', lock)
assert found == 1, "tansu-storage 0.6.0 is in the lock file once"
open(path, "w").write(lock)
PY
cargo install --locked --path "$work/tansu-0.6.0" --root "$root" \
  --no-default-features --features dynostore,libsql
