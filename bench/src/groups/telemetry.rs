//! The telemetry group: what metrics and traces cost the Kafka pass-through.

use std::path::Path;

use super::warm_up;
use crate::figures::Bench;
use crate::scenarios::{self, Run};

/// The cost of metrics and traces on the Kafka pass-through (1 s windows): metrics on (the
/// default) against off, and traces of every call exported (100% sampling, to a receiver in
/// this process) against none, in alternating fresh runs (the first riff run of a group is
/// slower than the next ones, whatever it runs): CPU per record of the riff process, the
/// steadier figure, and throughput, each the mean of two runs.
pub fn measure(tansu: &Path, n: usize, bench: &mut Bench) {
    let receiver = riff_testkit::OtlpReceiver::start();
    let endpoint = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.as_str()),
        ("OTEL_TRACES_SAMPLER", "always_on"),
        // Exported during the run too, not only as riff stops.
        ("OTEL_BSP_SCHEDULE_DELAY", "200"),
    ];
    let off = ["--metrics-address", "off"];
    type Launch<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);
    let kinds: [Launch; 3] = [
        ("riff, metrics on", &[], &[]),
        ("riff, metrics off", &off, &[]),
        ("riff, metrics on, traces exported", &[], &endpoint),
    ];
    warm_up(tansu, n);
    let mut runs: [Vec<Run>; 3] = Default::default();
    for _ in 0..2 {
        for (kind, (what, args, env)) in kinds.iter().enumerate() {
            let result = scenarios::riff_kafka_with(tansu, n, 4, "{duration: 1s}", args, env);
            runs[kind].extend(bench.run(what, result));
        }
    }
    if !runs.iter().all(|r| r.len() == 2) {
        return;
    }
    let spans = receiver.spans().len();
    if spans == 0 {
        bench
            .failures
            .push("traced runs: no span reached the receiver".into());
        return;
    }
    let mean = |runs: &[Run], f: fn(&Run) -> f64| runs.iter().map(f).sum::<f64>() / 2.0;
    let [on, off, traced] = &runs;
    let alternating = "mean of 2 runs each, alternating";
    let pairs = [
        (
            "metrics on (the default)",
            on,
            "`--metrics-address off`",
            off,
            "≤ 1.03",
            "≥ 0.97",
            alternating.to_owned(),
        ),
        (
            "metrics on, every call traced (`OTEL_TRACES_SAMPLER=always_on`, OTLP/gRPC)",
            traced,
            "metrics on, no traces",
            on,
            "",
            "",
            format!("{alternating}; {spans} spans received"),
        ),
    ];
    for (name, value, baseline_name, baseline, cpu_target, rate_target, note) in pairs {
        let target = |target: &'static str| (!target.is_empty()).then_some(target);
        bench.figure(
            format!("Kafka pass-through, 1 s windows, {name}: riff CPU per record"),
            mean(value, |r| r.cpu_us),
            baseline_name,
            mean(baseline, |r| r.cpu_us),
            "µs",
            target(cpu_target),
            note.clone(),
        );
        bench.figure(
            format!("Kafka pass-through, 1 s windows, {name}"),
            mean(value, Run::rate),
            baseline_name,
            mean(baseline, Run::rate),
            "msg/s",
            target(rate_target),
            note,
        );
    }
}
