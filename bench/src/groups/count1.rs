//! The count1 group: Kafka pass-through with count-1 windows (one call per record), against
//! the plain copy and against bare one-frame tonic calls.

use std::path::Path;

use crate::figures::{median_run, Bench, ROUNDS};
use crate::{protocol, scenarios};

/// Count-1 windows on `count` records, the median of [`ROUNDS`] runs, against `plain` (the
/// Kafka baseline's name and rate): their rate, for the latency group's.
pub async fn measure(
    tansu: &Path,
    count: usize,
    plain: (&str, f64),
    bench: &mut Bench,
) -> Option<f64> {
    // Runs, the median one kept: one run of 100 000 calls took 9.7k to 14.7k msg/s of the same
    // build.
    let mut runs = Vec::new();
    for _ in 0..ROUNDS {
        let result = scenarios::riff_kafka(tansu, count, 4, "{count: 1}");
        runs.extend(bench.run("riff, count-1 windows", result));
    }
    let (run, note) = median_run(&runs)?;
    let rate = run.rate();
    bench.figure(
        "Kafka pass-through, `window: {count: 1}`, 4 partitions".into(),
        rate,
        plain.0,
        plain.1,
        "msg/s",
        Some("≥ 20 000 msg/s"),
        note,
    );
    // The ceiling: one tonic call per record and nothing else, riff's 8 calls in flight.
    let ceiling = protocol::call_rate(8, 100_000).await;
    bench.figure(
        "count-1 windows against one-frame tonic calls alone (bare client and echo \
         server, 8 calls in flight, each on its own connection: no Kafka, no riff)"
            .into(),
        rate,
        "bare tonic calls",
        ceiling,
        "msg/s",
        None,
        "the most one call per record could give on this machine".into(),
    );
    Some(rate)
}
