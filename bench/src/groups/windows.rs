//! The windows group: event-time and sliding windows against processing-time ones.

use std::path::Path;

use super::warm_up;
use crate::figures::Bench;
use crate::scenarios;

/// Event-time and sliding windows against riff's processing-time tumbling windows, on the same
/// keyed job ([`scenarios::KEYS`] keys, 10 000 records per second of event time, 4 partitions,
/// `pass-through`): event-time tumbling 1 s windows per key (a call per key and second), and
/// sliding 10 s windows every 1 s over every record (each record in 10 calls). Input records
/// per second, from reading to the last position committed.
pub fn measure(tansu: &Path, n: usize, bench: &mut Bench) {
    warm_up(tansu, n);
    let baseline = "`{duration: 1s}` (processing time, riff's)";
    let result = scenarios::riff_windows(tansu, n, 4, "{duration: 1s}", 1);
    let Some(processing) = bench.run("riff, processing-time 1 s windows", result) else {
        return;
    };
    let kinds = [
        (
            "{time: event, duration: 1s, keyBy: key}",
            1,
            "event-time tumbling 1 s per key",
        ),
        (
            "{kind: sliding, size: 10s, every: 1s, time: event}",
            10,
            "event-time sliding 10 s every 1 s",
        ),
    ];
    for (window, copies, name) in kinds {
        let result = scenarios::riff_windows(tansu, n, 4, window, copies);
        if let Some(run) = bench.run(&format!("riff, {name}"), result) {
            bench.figure(
                format!(
                    "Kafka pass-through, {} keys, `window: {window}`",
                    scenarios::KEYS
                ),
                run.rate(),
                baseline,
                processing.rate(),
                "msg/s",
                None,
                format!("{}; {copies} call(s) per record", run.note()),
            );
        }
    }
}
