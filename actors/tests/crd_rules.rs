//! The CEL rules of the CRDs (what `kubectl apply` enforces without a webhook), evaluated with
//! kube-cel, which implements Kubernetes' CEL libraries: good objects pass, including what the
//! `riff streaming` CLI and the riff docs produce (an unnamed function container, left for the
//! controller's defaulting), and each broken object is refused with its rule's message.

use riff_actors::resources::crds;
use serde_json::Value;

/// The `openAPIV3Schema` of `kind`'s CRD.
fn schema(kind: &str) -> Value {
    let crd = crds::all()
        .into_iter()
        .find(|crd| crd.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"));
    let version = &crd.spec.versions[0];
    let schema = version.schema.as_ref().unwrap().open_api_v3_schema.as_ref();
    serde_json::to_value(schema.unwrap()).unwrap()
}

/// The messages of the CEL rules `yaml` (an object of `kind`) breaks.
fn broken_rules(kind: &str, yaml: &str) -> Vec<String> {
    let object: Value = serde_norway::from_str(yaml).unwrap();
    match kube_cel::Validator::new().validate(&schema(kind), &object, None) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .into_vec()
            .into_iter()
            .map(|e| format!("{}: {}", e.field_path, e.message))
            .collect(),
    }
}

#[track_caller]
fn accepted(kind: &str, yaml: &str) {
    let broken = broken_rules(kind, yaml);
    assert!(broken.is_empty(), "{kind} refused: {broken:?}\n{yaml}");
}

#[track_caller]
fn refused(kind: &str, yaml: &str, message: &str) {
    let broken = broken_rules(kind, yaml);
    assert!(
        broken.iter().any(|b| b.contains(message)),
        "{kind} not refused with {message:?}: {broken:?}\n{yaml}"
    );
}

const IMAGE: &str = "template: {spec: {containers: [{name: function, image: f}]}}";

#[test]
fn processors_need_exactly_one_function_source() {
    let inputs = "inputs: [{stream: in}]";
    accepted("Processor", &format!("spec: {{{inputs}, {IMAGE}}}"));
    accepted(
        "Processor",
        &format!("spec: {{{inputs}, build: {{functionRef: f}}}}"),
    );
    let one_of = "exactly one of build and template.spec.containers[0].image must be set";
    refused("Processor", &format!("spec: {{{inputs}}}"), one_of);
    refused(
        "Processor",
        &format!("spec: {{{inputs}, build: {{functionRef: f}}, {IMAGE}}}"),
        one_of,
    );
    refused(
        "Processor",
        &format!("spec: {{{inputs}, build: {{functionRef: f, containerRef: c}}}}"),
        "exactly one of containerRef and functionRef must be set",
    );
}

#[test]
fn a_processor_runs_one_container_named_function_or_unnamed() {
    let spec = |containers: &str| {
        format!(
            "spec: {{inputs: [{{stream: in}}], template: {{spec: {{containers: {containers}}}}}}}"
        )
    };
    // What `riff streaming processor create --image f` sends: the name is the server's to default.
    accepted("Processor", &spec("[{name: '', image: f}]"));
    refused(
        "Processor",
        &spec("[{name: fn, image: f}]"),
        "containers[0].name must be function",
    );
    refused(
        "Processor",
        &spec("[{name: function, image: f}, {name: side, image: s}]"),
        "only one container, the function, may be set",
    );
}

#[test]
fn aliases_are_unique_among_inputs_and_among_outputs() {
    let processor = |inputs: &str, outputs: &str| {
        format!("spec: {{inputs: {inputs}, outputs: {outputs}, {IMAGE}}}")
    };
    // riff main's rule: one alias may name an input and an output.
    accepted("Processor", &processor("[{stream: a}]", "[{stream: a}]"));
    accepted(
        "Processor",
        &processor("[{stream: s, alias: x}, {stream: s}]", "[]"),
    );
    refused(
        "Processor",
        &processor("[{stream: s, alias: x}, {stream: x}]", "[]"),
        "spec.inputs",
    );
    refused(
        "Processor",
        &processor("[{stream: i}]", "[{stream: s}, {stream: t, alias: s}]"),
        "spec.outputs",
    );
}

#[test]
fn windows_last_longer_than_zero() {
    let window = |duration: &str| {
        format!("spec: {{inputs: [{{stream: in}}], {IMAGE}, window: {{duration: '{duration}'}}}}")
    };
    accepted("Processor", &window("1m30s"));
    refused("Processor", &window("0s"), "must be greater than zero");
}

#[test]
fn a_gateway_needs_a_template_or_ports() {
    accepted("Gateway", "spec: {ports: [{name: gateway, port: 6565}]}");
    let broken = broken_rules("Gateway", "spec: {}");
    assert_eq!(broken.len(), 1, "{broken:?}");
}

#[test]
fn delivery_timeouts_are_positive_and_backoff_initial_is_at_most_max() {
    let delivery = |delivery: &str| {
        format!("spec: {{inputs: [{{stream: in}}], {IMAGE}, delivery: {delivery}}}")
    };
    accepted(
        "Processor",
        &delivery(
            "{maxAttempts: 3, backoff: {initial: 10ms, max: 1s, jitter: false}, timeout: 30s, \
             deadLetter: {stream: failed}}",
        ),
    );
    accepted("Processor", &delivery("{backoff: {initial: 1m}}"));
    refused(
        "Processor",
        &delivery("{timeout: 0s}"),
        "must be greater than zero",
    );
    refused(
        "Processor",
        &delivery("{backoff: {initial: 2s, max: 1s}}"),
        "initial must not exceed max",
    );
    // The structural schema (enforced by the API server itself) bounds the rest.
    let schema = schema("Processor");
    let delivery = &schema["properties"]["spec"]["properties"]["delivery"]["properties"];
    assert_eq!(delivery["maxAttempts"]["minimum"].as_f64(), Some(1.0));
    assert_eq!(
        delivery["deadLetter"]["properties"]["stream"]["minLength"],
        1
    );
    assert!(delivery["backoff"]["properties"]["initial"]["pattern"].is_string());
}
