//! The real third-party invoker: `@projectriff/node-function-invoker@0.3.0` from npm.

use std::path::Path;
use std::time::Duration;

use crate::support::*;

/// A processor running a node function file from tests/fixtures/node with the riff node invoker.
fn node_processor(name: &str, function: &str, inputs: &[&str], outputs: &[&str]) -> String {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/node")
        .join(function);
    let env = format!("[{{name: FUNCTION_URI, value: {}}}]", fixture.display());
    ProcessorYaml {
        name,
        inputs,
        outputs,
        window: "{duration: 1s}",
        command: vec!["node".into(), node_invoker().display().to_string()],
        env: &env,
        delivery: "",
    }
    .yaml()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_request_reply_function_squares_numbers() {
    let yaml = gateway_and_streams(&["numbers", "squares"])
        + &node_processor("node-square", "square.js", &["numbers"], &["squares"]);
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let runtime = Runtime::start(&[manifests.path()]);
    let gateway = runtime.client().await;
    gateway.publish_numbers("numbers", [2, 3, 4]).await;
    let squares = gateway.read("squares", 3, Duration::from_secs(20)).await;
    assert_eq!(numbers(&squares), [4.0, 9.0, 16.0]);
    assert!(squares.iter().all(|m| m.content_type == "application/json"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_streaming_function_with_two_inputs_zips_them() {
    let yaml = gateway_and_streams(&["left", "right", "sums"])
        + &node_processor("node-zip", "zip-sum.js", &["left", "right"], &["sums"]);
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let runtime = Runtime::start(&[manifests.path()]);
    let gateway = runtime.client().await;
    gateway.publish_numbers("left", [1, 2]).await;
    gateway.publish_numbers("right", [100, 200]).await;
    let sums = gateway.read("sums", 2, Duration::from_secs(20)).await;
    assert_eq!(numbers(&sums), [101.0, 202.0]);
}
