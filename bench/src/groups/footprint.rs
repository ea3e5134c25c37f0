//! The footprint group, and its parts alone (idle, light): what many processors cost in one
//! `riff local run`, idle, under a light load and under overload.

use std::path::Path;
use std::time::Duration;

use crate::figures::{median_by, rounds_note, Bench, ROUNDS};
use crate::footprint::{self, LightLoad};
use crate::riff;

/// Peak RSS of riff, and of riff with its function processes, with 100 idle processors against
/// 1.
pub fn idle_rss(bench: &mut Bench) {
    let one = bench.ok("idle RSS, 1 processor", footprint::idle_rss(1));
    let hundred = bench.ok("idle RSS, 100 processors", footprint::idle_rss(100));
    if let (Some(one), Some(hundred)) = (one, hundred) {
        bench.figure(
            "peak RSS of the riff process, 100 idle processors".into(),
            hundred.0,
            "1 processor",
            one.0,
            "MiB",
            Some("< 200 MiB"),
            String::new(),
        );
        bench.figure(
            "peak RSS of riff + its 100 function processes, 100 idle processors".into(),
            hundred.1,
            "1 processor + 1 function",
            one.1,
            "MiB",
            None,
            "sum of each process's peak (VmHWM)".into(),
        );
    }
}

/// CPU of riff and of the broker, riff's RSS and its start-up, with 100 idle Kafka-backed
/// processors: product defaults against the test broker's settings.
pub fn idle_kafka(tansu: &Path, bench: &mut Bench) {
    let idle = footprint::idle_kafka(tansu, 100, &[]);
    let tuned = riff::tansu_properties();
    let tansu_idle = footprint::idle_kafka(tansu, 100, &tuned);
    if let (Some(idle), Some(tansu_idle)) = (
        bench.ok("100 idle Kafka processors", idle),
        bench.ok("100 idle Kafka processors, tansu settings", tansu_idle),
    ) {
        let settings = format!("the test broker's settings ({})", tuned.join(", "));
        let threads = format!("{} threads in riff", idle.threads);
        bench.figure(
            "CPU of riff, 100 idle Kafka-backed processors, product defaults".into(),
            idle.riff_cpu,
            &settings,
            tansu_idle.riff_cpu,
            "% of a core",
            Some("≤ 2%"),
            threads,
        );
        bench.figure(
            "CPU of the broker meanwhile (tansu)".into(),
            idle.broker_cpu,
            "the broker with no clients",
            idle.broker_alone,
            "% of a core",
            Some("≤ 5%"),
            format!(
                "with the test broker's settings: {:.1}%",
                tansu_idle.broker_cpu
            ),
        );
        bench.figure(
            "RSS of riff, 100 idle Kafka-backed processors".into(),
            idle.rss,
            "the test broker's settings",
            tansu_idle.rss,
            "MiB",
            Some("≤ 64 MiB"),
            String::new(),
        );
        bench.figure(
            "start-up of 100 Kafka-backed processors to running (every group assigned)".into(),
            idle.startup.as_secs_f64(),
            "the test broker's settings (2 s sessions)",
            tansu_idle.startup.as_secs_f64(),
            "s",
            Some("< 10 s"),
            String::new(),
        );
    }
}

/// Latency of 100 processors under a light load against one processor's, the median of
/// [`ROUNDS`] rounds.
pub fn light_load(tansu: &Path, bench: &mut Bench) {
    // 10 records a second on the input, copied by each of the 100 processors: 1 000
    // count-1 calls a second in all. (100 a second each would be 10 000 calls a second, the
    // whole of this machine's count-1 capacity.) The consumers fetch every 20 ms, not every
    // 5 as in the other test-broker runs: tansu answers a fetch only after
    // fetch.wait.max.ms, and 100 consumers asking every 5 ms take a core of it. 30 s of
    // load: the one processor's p99 is read off 300 records, not 100 (the 99th percentile
    // of 100 samples is their second largest).
    let (rate, seconds) = (10.0, 30);
    let props = [
        "fetch.wait.max.ms=20",
        "session.timeout.ms=2000",
        "heartbeat.interval.ms=500",
    ];
    // Rounds of one processor then 100, the median by the p99 ratio: one run's tail is
    // mostly the machine's.
    let mut rounds = Vec::new();
    for _ in 0..ROUNDS {
        let one = footprint::light_load_latency(tansu, 1, &props, rate, seconds);
        let hundred = footprint::light_load_latency(tansu, 100, &props, rate, seconds);
        if let (Some(one), Some(hundred)) = (
            bench.ok("light load, 1 processor", one),
            bench.ok("light load, 100 processors", hundred),
        ) {
            rounds.push((one, hundred));
        }
    }
    let p99_ratio = |(one, hundred): &(LightLoad, LightLoad)| Some(hundred.all.1 / one.all.1);
    if let Some((round, ratios)) = median_by(&rounds, p99_ratio) {
        let (one, hundred) = round;
        let ((one50, one99), (_, warm_one99)) = (one.all, one.warm);
        let ((p50, p99), (_, warm99)) = (hundred.all, hundred.warm);
        bench.figure(
            format!("Kafka latency p99, 100 processors in one riff local run, each copying the same {rate:.0} msg/s (count-1 windows; {})", props.join(", ")),
            p99,
            "1 processor, the same load",
            one99,
            "ms",
            Some("≤ 1.5 × 1 processor's"),
            format!(
                "p50 {p50:.1} ms against {one50:.1} ms; {seconds} s of load; after its first \
                 second: p99 {warm99:.1} ms against {warm_one99:.1} ms; CPU per copy of the \
                 100: riff {:.0} µs, the broker {:.0} µs; {}",
                hundred.riff_cpu,
                hundred.broker_cpu,
                rounds_note(&ratios, |r| format!("{r:.2}"))
            ),
        );
    }
}

/// riff's and its function's RSS after `seconds` of overload against after a 15 s warm-up, and
/// the progress the processor made meanwhile.
pub fn overload(tansu: &Path, seconds: u64, bench: &mut Bench) {
    let (warm_up, duration) = (Duration::from_secs(15), Duration::from_secs(seconds));
    let result = footprint::overload_rss(tansu, warm_up, duration);
    if let Some((late, early, progress)) = bench.ok("overload", result) {
        bench.figure(
            format!(
                "RSS of riff + function after {seconds} s of overload (Kafka, count-1 windows)"
            ),
            late,
            "after 15 s",
            early,
            "MiB",
            Some("flat (ratio ≈ 1)"),
            format!(
                "the processor committed {progress} records during those {seconds} s ({:.0} msg/s)",
                progress as f64 / seconds.max(1) as f64
            ),
        );
        if progress <= 0 {
            bench
                .failures
                .push("overload: the processor made no progress".into());
        }
    }
}
