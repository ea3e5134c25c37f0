//! The data plane through `riff local run`: windows, headers, outputs, inputs.

use std::path::Path;
use std::time::Duration;

use crate::support::*;

/// A processor running the sample `function`.
fn processor(
    name: &str,
    function: &str,
    inputs: &[&str],
    outputs: &[&str],
    window: &str,
) -> String {
    ProcessorYaml::sample(name, function, inputs, outputs, window).yaml()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_example_averages_what_it_receives() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/time-averager");
    let runtime = Runtime::start(&[&config]);
    let gateway = runtime.client().await;
    // A burst well inside one 1 s sub-window of one 5 s window: one average.
    gateway.publish_numbers("in", 1..=10).await;
    let averages = gateway.read("out", 2, Duration::from_secs(10)).await;
    assert_eq!(numbers(&averages), [5.5]);
    assert_eq!(averages[0].content_type, "application/json");
}

#[tokio::test(flavor = "multi_thread")]
async fn count_windows_invoke_the_function_once_per_window() {
    let yaml = gateway_and_streams(&["in", "out"])
        + &processor(
            "avg",
            "time-averager",
            &["in"],
            &["out"],
            "{count: 3, duration: 1h}",
        );
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let runtime = Runtime::start(&[manifests.path()]);
    let gateway = runtime.client().await;
    gateway
        .publish_numbers("in", [1, 2, 3, 10, 20, 30, 7])
        .await;
    let averages = gateway.read("out", 3, Duration::from_secs(5)).await;
    // Two full windows of three; the seventh number waits for its window to fill.
    assert_eq!(numbers(&averages), [2.0, 20.0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn headers_survive_end_to_end_and_positions_are_committed() {
    let yaml = gateway_and_streams(&["numbers", "squares"])
        + &processor(
            "squarer",
            "square",
            &["numbers"],
            &["squares"],
            "{count: 1}",
        );
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let runtime = Runtime::start(&[manifests.path()]);
    let gateway = runtime.client().await;
    gateway
        .publish("numbers", "application/json", "7", &[("trace", "abc-123")])
        .await
        .unwrap();
    let squares = gateway.read("squares", 1, Duration::from_secs(10)).await;
    assert_eq!(numbers(&squares), [49.0]);
    assert_eq!(
        squares[0].headers.get("trace").map(String::as_str),
        Some("abc-123")
    );
    // Committed once the output was acknowledged, in the background.
    gateway.wait_committed("numbers", "squarer", 0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_inputs_reach_the_function_by_arg_index() {
    let yaml = gateway_and_streams(&["left", "right", "sums"])
        + &processor(
            "adder",
            "zip-sum",
            &["left", "right"],
            &["sums"],
            "{duration: 1s}",
        );
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let runtime = Runtime::start(&[manifests.path()]);
    let gateway = runtime.client().await;
    gateway.publish_numbers("left", [1, 2, 3]).await;
    gateway.publish_numbers("right", [10, 20, 30]).await;
    let sums = gateway.read("sums", 3, Duration::from_secs(10)).await;
    assert_eq!(numbers(&sums), [11.0, 22.0, 33.0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_processor_without_outputs_consumes_and_commits() {
    let yaml = gateway_and_streams(&["events"])
        + &processor("sink", "logger", &["events"], &[], "{count: 2}");
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let runtime = Runtime::start(&[manifests.path()]);
    let gateway = runtime.client().await;
    gateway.publish_numbers("events", [5, 6]).await;
    runtime.wait_for_log("6", Duration::from_secs(10));
    gateway.wait_committed("events", "sink", 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_publishes_and_subscribes() {
    let yaml = gateway_and_streams(&["in"]);
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let runtime = Runtime::start(&[manifests.path()]);
    let cli = |args: &[&str]| {
        std::process::Command::new(riff())
            .args(args)
            .args(["--gateway-address", &runtime.gateway])
            .output()
            .unwrap()
    };
    let published = cli(&[
        "local",
        "publish",
        "in",
        "--content-type",
        "application/json",
        "--payload",
        "{\"n\":1}",
        "--header",
        "k=v",
    ]);
    assert!(published.status.success(), "{published:?}");
    let subscribed = cli(&[
        "local",
        "subscribe",
        "in",
        "--from-beginning",
        "--count",
        "1",
    ]);
    assert!(subscribed.status.success(), "{subscribed:?}");
    let line: serde_json::Value = serde_json::from_slice(&subscribed.stdout).unwrap();
    assert_eq!(line["payload"], "{\"n\":1}");
    assert_eq!(line["contentType"], "application/json");
    assert_eq!(line["headers"]["k"], "v");
}
