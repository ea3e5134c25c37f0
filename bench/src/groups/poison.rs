//! The poison group: how long isolating one poison record takes, against the same window
//! without it.

use std::path::Path;

use crate::figures::Bench;
use crate::scenarios;

/// A window of 10 000 records with one poison record, against the same window clean.
pub fn measure(tansu: &Path, bench: &mut Bench) {
    let count = 10_000;
    let clean = bench.ok(
        "one clean window",
        scenarios::poison_isolation(tansu, count, None),
    );
    let poison = scenarios::poison_isolation(tansu, count, Some(count / 2 + 1));
    if let (Some(clean), Some(isolated)) = (clean, bench.ok("isolating a poison record", poison)) {
        bench.figure(
            format!("time to isolate one poison record in a window of {count} (Kafka, `maxAttempts: 3`, backoff 100 ms to 5 s, jittered)"),
            isolated.as_secs_f64(),
            "the same window without the poison record",
            clean.as_secs_f64(),
            "s",
            None,
            format!("the poison record alone on the dead-letter stream, the other {} squares written", count - 1),
        );
    }
}
