//! The memory group: the pass-through through an in-memory gateway, the time-averager sample
//! against it, and records through the gateway's liiklus API one at a time.

use super::kafka::ONE_SECOND;
use crate::figures::{median_run, Bench, ROUNDS};
use crate::scenarios;

/// `n` records through the in-memory pass-through, the median of [`ROUNDS`] runs, against
/// `plain` (the Kafka baseline's name and rate), then the time-averager on the same job.
pub async fn measure(n: usize, plain: (&str, f64), bench: &mut Bench) {
    // Runs, the median one kept: an absolute target on a machine whose speed drifts.
    let mut memories = Vec::new();
    for _ in 0..ROUNDS {
        let result = scenarios::riff_memory(n, "pass-through", &[], ONE_SECOND, false).await;
        memories.extend(bench.run("riff in memory, 1 s windows", result));
    }
    let median = median_run(&memories);
    let memory = median.as_ref().map(|(run, _)| *run);
    if let Some((run, note)) = median {
        bench.figure(
            "in-memory pass-through, 100 B, 4 partitions, `window: {duration: 1s}`".into(),
            run.rate(),
            plain.0,
            plain.1,
            "msg/s",
            Some("≥ 600 000 msg/s"),
            note,
        );
    }
    let env = [("AVERAGE_OVER", "1s")];
    let result = scenarios::riff_memory(n, "time-averager", &env, "{duration: 1s}", true).await;
    if let (Some(averaged), Some(memory)) = (bench.run("time-averager", result), memory) {
        bench.figure(
            "time-averager (`AVERAGE_OVER=1s`), in memory, `window: {duration: 1s}`".into(),
            averaged.rate(),
            "pass-through, same job and windows",
            memory.rate(),
            "msg/s",
            None,
            averaged.note(),
        );
    }
    let count = 1000;
    let result = scenarios::gateway_round_trips(count).await;
    if let Some(((call50, call99), (p50, p99))) = bench.ok("gateway round trips", result) {
        let what = format!(
            "in-memory gateway (liiklus API of `riff local run`): a record from its publish to \
             a subscriber on the same connection, one at a time, {count} records"
        );
        bench.figure(
            format!("{what}, p50"),
            p50,
            "the publish alone, p50",
            call50,
            "ms",
            None,
            String::new(),
        );
        bench.figure(
            format!("{what}, p99"),
            p99,
            "the publish alone, p99",
            call99,
            "ms",
            Some("≤ 2 × the publish's"),
            "publisher and subscriber are one client of riff's, as a cluster's processor reads \
             and writes a gateway"
                .into(),
        );
    }
}
