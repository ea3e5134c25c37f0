//! Bad input gets a clear error naming the culprit; nothing crashes.

use std::time::Duration;

use crate::support::*;

/// Runs `riff local run` on `yaml` and returns its exit code and log once it exits by itself.
fn refused(yaml: &str) -> (i32, String) {
    let manifests = Manifests::new(&[("bad.yaml", yaml)]);
    let mut runtime = Runtime::spawn(&[manifests.path()]);
    let code = runtime.wait_exit(Duration::from_secs(10));
    (code, runtime.log().join("\n"))
}

#[test]
fn malformed_yaml_names_the_file_and_line() {
    let (code, log) = refused("kind: Stream\nmetadata: {name: [\n");
    assert_ne!(code, 0);
    assert!(log.contains("bad.yaml") && log.contains("line"), "{log}");
}

#[test]
fn an_unknown_kind_is_named() {
    let (code, log) = refused(
        "apiVersion: streaming.projectriff.io/v1alpha1\nkind: Straem\nmetadata: {name: x}\n",
    );
    assert_ne!(code, 0);
    assert!(log.contains("Straem"), "{log}");
}

#[test]
fn an_invalid_field_is_named_with_its_rule() {
    let yaml = gateway_and_streams(&["in"])
        + "---\napiVersion: streaming.projectriff.io/v1alpha1\nkind: Processor\nmetadata: {name: p}\nspec:\n  inputs: [{stream: in, startOffset: middle}]\n  template: {spec: {containers: [{image: x, command: [x]}]}}\n";
    let (code, log) = refused(&yaml);
    assert_ne!(code, 0);
    assert!(
        log.contains("spec.inputs[0].startOffset: Invalid value: \"middle\""),
        "{log}"
    );
}

#[test]
fn a_reference_to_an_unknown_stream_is_named() {
    let yaml = gateway_and_streams(&["in"])
        + "---\napiVersion: streaming.projectriff.io/v1alpha1\nkind: Processor\nmetadata: {name: p}\nspec:\n  inputs: [{stream: inn}]\n  template: {spec: {containers: [{image: x, command: [x]}]}}\n";
    let (code, log) = refused(&yaml);
    assert_ne!(code, 0);
    assert!(
        log.contains("spec.inputs[0].stream") && log.contains("\"inn\""),
        "{log}"
    );
}

#[test]
fn an_unreachable_kafka_broker_is_reported_and_retried_with_backoff() {
    let closed = format!("127.0.0.1:{}", free_port());
    let yaml = format!(
        "apiVersion: streaming.projectriff.io/v1alpha1\nkind: KafkaGateway\nmetadata: {{name: franz}}\nspec: {{bootstrapServers: '{closed}'}}\n---\napiVersion: streaming.projectriff.io/v1alpha1\nkind: Stream\nmetadata: {{name: in}}\nspec: {{gateway: {{name: franz}}}}\n"
    );
    let manifests = Manifests::new(&[("kafka.yaml", &yaml)]);
    let runtime = Runtime::spawn(&[manifests.path()]);
    let first = runtime.wait_for_log("attempt=1", Duration::from_secs(30));
    assert!(
        first.contains("stream default/in") && first.contains("next_backoff"),
        "{first}"
    );
    runtime.wait_for_log("attempt=2", Duration::from_secs(30));
    // librdkafka reports the closed port several times a second from each client; the log says
    // each kind of problem once.
    let kafka: Vec<String> = runtime
        .log()
        .into_iter()
        .filter(|line| line.contains("kafka: "))
        .collect();
    let warnings = kafka.iter().filter(|line| line.contains("WARN")).count();
    assert!(
        (1..=3).contains(&warnings) && warnings == kafka.len(),
        "{kafka:#?}"
    );
    assert!(
        kafka.iter().all(|line| line.contains(&closed)),
        "{kafka:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incompatible_content_type_is_refused_naming_both_types() {
    let manifests = Manifests::new(&[("all.yaml", &gateway_and_streams(&["in"]))]);
    let runtime = Runtime::start(&[manifests.path()]);
    let gateway = runtime.client().await;
    let refused = gateway
        .publish("in", "text/plain", "hello", &[])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().contains("text/plain") && refused.message().contains("application/json"),
        "{}",
        refused.message()
    );
    // The runtime keeps running and accepts good messages.
    gateway
        .publish("in", "application/json", "1", &[])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_that_cannot_start_is_retried_and_riff_keeps_running() {
    let yaml = gateway_and_streams(&["in"])
        + "---\napiVersion: streaming.projectriff.io/v1alpha1\nkind: Processor\nmetadata: {name: p}\nspec:\n  inputs: [{stream: in}]\n  template: {spec: {containers: [{image: x, command: [no-such-function-binary]}]}}\n";
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let runtime = Runtime::start(&[manifests.path()]);
    let failure = runtime.wait_for_log("no-such-function-binary", Duration::from_secs(10));
    assert!(failure.contains("attempt=1"), "{failure}");
    runtime.wait_for_log("attempt=2", Duration::from_secs(10));
    runtime
        .client()
        .await
        .publish("in", "application/json", "1", &[])
        .await
        .unwrap();
}

// Hole: `--kafka-property enable.auto.commit=true` committed positions of failing windows.
#[test]
fn a_kafka_property_that_switches_off_at_least_once_is_refused_naming_it_and_why() {
    let manifests = Manifests::new(&[("ok.yaml", &gateway_and_streams(&["in"]))]);
    let mut runtime = Runtime::spawn_with(
        &[manifests.path()],
        &["--kafka-property", "enable.auto.commit=true"],
    );
    assert_eq!(runtime.wait_exit(Duration::from_secs(10)), 2);
    let log = runtime.log().join("\n");
    assert!(
        log.contains("enable.auto.commit=true is refused")
            && log.contains("records not yet processed"),
        "{log}"
    );
}
