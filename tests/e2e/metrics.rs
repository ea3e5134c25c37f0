//! `GET /metrics` of `riff local run` during real runs: the counters equal what flowed, the lag
//! is 0 once caught up, the histograms count the calls, a failing function raises the failure
//! counter, and the text parses as OpenMetrics with Python's `prometheus_client` parser (which
//! the sidecar's and the gateway's scrapes go through too).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use crate::kafka_support::*;
use crate::support::{
    eventually, free_port, riff as riff_binary, square_processor, Manifests, Runtime,
};

/// One sample: metric name, labels, value.
pub type Sample = (String, BTreeMap<String, String>, f64);

/// Parses `text` with `prometheus_client`'s OpenMetrics parser (which refuses what is not
/// OpenMetrics); every sample.
pub fn openmetrics(text: &str) -> Vec<Sample> {
    const PARSE: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        print(json.dumps([sample.name, sample.labels, sample.value]))
"#;
    let mut parse = Command::new("python3");
    parse.args(["-c", PARSE]);
    let output = riff_testkit::run_with_input("python3", &mut parse, text.as_bytes());
    assert!(
        output.status.success(),
        "not OpenMetrics: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The sum of the samples named `name` whose labels include `labels`.
pub fn total(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(.., value)| value)
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn local_metrics_count_what_flowed_on_kafka_and_parse_as_openmetrics() {
    let scene = Scene::new(Tansu::memory(), 2, "square", "{count: 10}");
    let riff = scene.run();
    let kafka = scene.plain();
    kafka.produce_numbers("default_numbers", 1..=100).await;
    let squares = kafka
        .read("default_squares", 100, Duration::from_secs(60))
        .await;
    assert_eq!(squares.len(), 100);

    let squarer = ("processor", "squarer");
    let samples = eventually("the lag at 0, 100 written", Duration::from_secs(30), || {
        let samples = openmetrics(&riff.metrics());
        let lags = samples
            .iter()
            .filter(|(name, ..)| name == "riff_consumer_lag");
        let caught_up =
            lags.count() == 2 && total(&samples, "riff_consumer_lag", &[squarer]) == 0.0;
        let written = total(&samples, "riff_records_written_total", &[squarer]);
        (caught_up && written >= 100.0).then_some(samples)
    });
    let read = total(
        &samples,
        "riff_records_read_total",
        &[squarer, ("stream", "numbers")],
    );
    assert_eq!(read, 100.0, "each record read once");
    let written = [squarer, ("stream", "squares"), ("namespace", "default")];
    assert_eq!(
        total(&samples, "riff_records_written_total", &written),
        100.0
    );
    let calls = total(&samples, "riff_calls_total", &[squarer]);
    assert_eq!(
        total(&samples, "riff_call_duration_seconds_count", &[squarer]),
        calls
    );
    assert_eq!(
        total(&samples, "riff_window_records_sum", &[squarer]),
        100.0
    );
    assert!(
        calls >= 10.0,
        "windows of at most 10 records: {calls} calls"
    );
    let windows = total(&samples, "riff_window_duration_seconds_count", &[squarer]);
    assert_eq!(windows, calls, "one call per window closed (no failure)");
    let lag_partitions = samples
        .iter()
        .filter(|(name, labels, _)| name == "riff_consumer_lag" && labels["stream"] == "numbers")
        .count();
    assert_eq!(lag_partitions, 2, "one lag per input partition");
    assert_eq!(total(&samples, "riff_call_failures_total", &[squarer]), 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_function_raises_the_failure_counter_that_riff_local_status_shows() {
    let env = "[{name: FAIL_INVOCATIONS, value: \"2\"}]";
    let yaml = square_processor("flaky-square", "{count: 3}", env);
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let riff = Runtime::start(&[manifests.path()]);
    riff.client()
        .await
        .publish_numbers("numbers", [2, 3, 4])
        .await;
    let squarer = ("processor", "squarer");
    let samples = eventually("the window completed", Duration::from_secs(30), || {
        let samples = openmetrics(&riff.metrics());
        (total(&samples, "riff_calls_total", &[squarer]) == 1.0).then_some(samples)
    });
    let failed = [squarer, ("cause", "function")];
    assert_eq!(total(&samples, "riff_call_failures_total", &failed), 2.0);
    assert_eq!(
        total(&samples, "riff_records_written_total", &[squarer]),
        3.0
    );

    let address = format!("127.0.0.1:{}", riff.metrics_port);
    let status = Command::new(riff_binary())
        .args([
            "local",
            "status",
            "--once",
            "--interval",
            "0.2",
            "--metrics-address",
            &address,
        ])
        .output()
        .unwrap();
    let table = String::from_utf8(status.stdout).unwrap();
    assert!(
        status.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    let header = [
        "NAMESPACE",
        "PROCESSOR",
        "IN/S",
        "OUT/S",
        "LAG",
        "IN-FLIGHT",
        "CALLS",
    ];
    assert_eq!(lines[0][..7], header, "{table}");
    let row = lines
        .iter()
        .find(|cells| cells[1] == "squarer")
        .expect(&table);
    // Every cause: a first attempt may also have found the function not listening yet.
    let failures = total(&samples, "riff_call_failures_total", &[squarer]).to_string();
    assert_eq!(
        (row[0], row[6], row[8]),
        ("default", "1", failures.as_str()),
        "{table}"
    );
}

#[test]
fn riff_local_status_says_when_nothing_serves_metrics() {
    let address = format!("127.0.0.1:{}", free_port());
    let status = Command::new(riff_binary())
        .args(["local", "status", "--once", "--metrics-address", &address])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(1));
    let error = String::from_utf8_lossy(&status.stderr);
    let said = format!(
        "no metrics at {address}: is `riff local run --metrics-address {address}` running?"
    );
    assert!(error.contains(&said), "{error}");
}
