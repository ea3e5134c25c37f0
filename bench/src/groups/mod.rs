//! Each group of figures `--only` names: the runs it makes and the figures it reports.

pub mod controller;
pub mod count1;
pub mod footprint;
pub mod kafka;
pub mod latency;
pub mod memory;
pub mod poison;
pub mod protocol;
pub mod telemetry;
pub mod windows;

use std::path::Path;

use crate::scenarios;

/// The first riff run of a group is slower than the next ones, whatever it runs (3.4 to 3.9 µs
/// of CPU per record against 2.9 to 3.0): one unmeasured Kafka pass-through of `n / 10` records.
pub fn warm_up(tansu: &Path, n: usize) {
    if let Err(error) = scenarios::riff_kafka(tansu, (n / 10).max(1), 4, kafka::ONE_SECOND) {
        eprintln!("riff warm-up: {error:#}");
    }
}
