//! The latency group: end-to-end latency of count-1 windows at a given rate, against the plain
//! copy's at the same rate.

use std::path::Path;

use crate::copy;
use crate::figures::{median_by, median_note, Bench, ROUNDS};
use crate::scenarios::{self, Percentiles};

/// p50 and p99 of records stamped at `rate` a second (`how`: why this rate) through count-1
/// windows, against the plain copy's best in `modes`, from the median of [`ROUNDS`] rounds.
pub fn measure(tansu: &Path, (rate, how): (f64, &str), modes: &[copy::Commit], bench: &mut Bench) {
    let count = ((rate * 10.0) as usize).max(100);
    // A tail read off one run is mostly the machine's: rounds, the median by the p99 ratio.
    let mut rounds = Vec::new();
    for _ in 0..ROUNDS {
        let result = scenarios::latency(tansu, rate, count, modes);
        rounds.extend(bench.ok("latency", result));
    }
    let best_copy = |copies: &[(copy::Commit, Percentiles)]| {
        let best = copies.iter().min_by(|a, b| a.1 .1.total_cmp(&b.1 .1));
        best.map(|&(_, percentiles)| percentiles)
    };
    let p99_ratio = |(ours, copies): &(Percentiles, Vec<(copy::Commit, Percentiles)>)| {
        Some(ours.1 / best_copy(copies)?.1)
    };
    let Some((((p50, p99), copies), ratios)) = median_by(&rounds, p99_ratio) else {
        return;
    };
    let measured: Vec<String> = copies
        .iter()
        .map(|(mode, (p50, p99))| format!("`{}` p50 {p50:.1} ms, p99 {p99:.1} ms", mode.name()))
        .collect();
    let note = format!(
        "the plain copy's best p99 of its commit modes ({}); {}",
        measured.join("; "),
        median_note("alternated rounds by this ratio", &ratios, |r| format!(
            "{r:.2}"
        ))
    );
    let (copy50, copy99) = best_copy(copies).expect("a plain copy measured");
    let at = format!("at {rate:.0} msg/s ({how}), {count} stamped records, 4 partitions");
    bench.figure(
        format!("Kafka latency p50, `window: {{count: 1}}`, {at}"),
        *p50,
        "plain copy p50",
        copy50,
        "ms",
        None,
        String::new(),
    );
    bench.figure(
        format!("Kafka latency p99, `window: {{count: 1}}`, {at}"),
        *p99,
        "plain copy p99",
        copy99,
        "ms",
        Some("≤ 1.2 × the plain copy's"),
        note,
    );
}
