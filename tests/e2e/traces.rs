//! OpenTelemetry traces of `riff local run` with `OTEL_EXPORTER_OTLP_ENDPOINT` set, received by
//! an OTLP/gRPC receiver in the test (testkit's, tonic and the OTLP protos): a call's span continues the
//! trace of its input's `traceparent`, its outputs carry the call's `traceparent`, and a record
//! without one starts a new trace.

use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use riff_testkit::{OtlpReceiver, Span};

use crate::support::*;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The string attribute `key` of `span`.
fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    let value = span.attributes.iter().find(|kv| kv.key == key)?;
    match value.value.as_ref()?.value.as_ref()? {
        Value::StringValue(text) => Some(text),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_continues_its_inputs_trace_and_its_outputs_carry_the_calls() {
    let receiver = OtlpReceiver::start();
    let endpoint = receiver.endpoint.clone();
    let yaml = square_processor("square", "{count: 1}", "[]");
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    let riff = Runtime::start_with_env(&[manifests.path()], &[], &env);
    let gateway = riff.client().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let traced = [("traceparent", parent.as_str())];
    gateway
        .publish("numbers", "application/json", "3", &traced)
        .await
        .unwrap();
    gateway
        .publish("numbers", "application/json", "4", &[])
        .await
        .unwrap();
    let squares = gateway.read("squares", 2, Duration::from_secs(30)).await;
    assert_eq!(numbers(&squares), [9.0, 16.0]);

    // traceparent: 00-<trace id>-<span id>-<flags>.
    let context = |square: &Received| -> Vec<String> {
        let traceparent = square
            .headers
            .get("traceparent")
            .expect("an output's traceparent");
        traceparent.split('-').map(str::to_owned).collect()
    };
    let (continued, fresh) = (context(&squares[0]), context(&squares[1]));
    assert_eq!(
        (continued[1].as_str(), continued[3].as_str()),
        (trace_id, "01")
    );
    assert_ne!(
        continued[2], "00f067aa0ba902b7",
        "the call's span, not the input's"
    );
    assert_ne!(
        fresh[1], trace_id,
        "a record without traceparent starts a new trace"
    );

    // A call's span ends OK, or in error with why (a first attempt may find the function not
    // listening yet: it is retried).
    let completed = |span: &&Span| span.status.as_ref().is_some_and(|status| status.code == 1);
    let spans = eventually(
        "both windows' completed calls",
        Duration::from_secs(30),
        || {
            let spans = receiver.spans();
            (spans.iter().filter(completed).count() == 2).then_some(spans)
        },
    );
    for failed in spans.iter().filter(|span| !completed(span)) {
        let status = failed.status.clone().unwrap_or_default();
        assert_eq!(status.code, 2, "an error: {failed:?}");
        assert!(status.message.contains("function"), "why: {failed:?}");
    }
    let span_of = |context: &[String]| {
        spans
            .iter()
            .find(|span| hex(&span.trace_id) == context[1] && hex(&span.span_id) == context[2])
            .unwrap_or_else(|| panic!("no span {context:?} in {spans:#?}"))
    };
    let call = span_of(&continued);
    assert_eq!(call.name, "riff.call");
    assert_eq!(
        hex(&call.parent_span_id),
        "00f067aa0ba902b7",
        "parented to the input"
    );
    assert_eq!(attribute(call, "riff.processor"), Some("squarer"));
    assert_eq!(attribute(call, "riff.namespace"), Some("default"));
    let root = span_of(&fresh);
    assert!(root.parent_span_id.is_empty(), "a root span: {root:?}");
}
