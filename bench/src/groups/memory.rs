//! The memory group: the pass-through through an in-memory gateway, and the time-averager
//! sample against it.

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
}
