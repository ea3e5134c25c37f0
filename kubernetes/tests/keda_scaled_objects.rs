//! The KEDA objects the controller creates for processors are objects KEDA 2 accepts: a
//! ScaledObject scaling on a Kafka-backed input (a `kafka` trigger) and one on a gateway-backed
//! input (a `liiklus` trigger), built by `processor_scaled_object` and given a name, and the
//! TriggerAuthentication of a secured Kafka trigger, validate against the `openAPIV3Schema` of
//! the served `v1alpha1` version of KEDA's own CRDs, vendored in `deploy/keda/`. The check runs the Python package `jsonschema` (installed with
//! kubernetes-validate by `tests/run.sh`) and, like `kubectl apply`'s strict field validation,
//! rejects fields the schema does not declare. Broken ScaledObjects are rejected, so the check
//! can fail.

use std::path::PathBuf;
use std::process::Command;

use riff_actors::resources::Processor;
use riff_kubernetes::children::processor::{
    processor_scaled_object, processor_trigger_authentication, ScaledInput,
};
use riff_kubernetes::children::stream::StreamCoordinates;
use serde::Deserialize;
use serde_json::{json, Value};

/// The served version `version` of the vendored CRD of KEDA's `kind` (plural `plural`): its
/// `openAPIV3Schema`.
fn served_schema(kind: &str, plural: &str, version: &str) -> Value {
    let path = format!("../deploy/keda/keda.sh_{plural}.yaml");
    let text =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    let crd = serde_norway::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).unwrap())
        .find(|o| o["kind"] == "CustomResourceDefinition")
        .expect("no CustomResourceDefinition in the vendored KEDA file");
    assert_eq!(crd["metadata"]["name"], format!("{plural}.keda.sh"));
    assert_eq!(crd["spec"]["group"], "keda.sh");
    assert_eq!(crd["spec"]["names"]["kind"], kind);
    let versions = crd["spec"]["versions"].as_array().unwrap();
    let served = versions
        .iter()
        .find(|v| v["name"] == version && v["served"] == true)
        .unwrap_or_else(|| panic!("KEDA's CRD serves no version {version}"));
    let schema = served["schema"]["openAPIV3Schema"].clone();
    assert!(schema.is_object(), "no openAPIV3Schema for {version}");
    schema
}

/// Validates `object` against `schema` with Python's `jsonschema`, every object schema that
/// declares properties closed to others (as the API server's strict field validation is).
/// `Err` holds the validator's messages.
const VALIDATE: &str = r#"
import json, sys
import jsonschema
def close(node):
    if isinstance(node, dict):
        if ("properties" in node and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")):
            node["additionalProperties"] = False
        for child in node.values():
            close(child)
    elif isinstance(node, list):
        for child in node:
            close(child)
schema = json.load(open(sys.argv[1]))
close(schema)
jsonschema.Draft4Validator.check_schema(schema)
errors = list(jsonschema.Draft4Validator(schema).iter_errors(json.load(open(sys.argv[2]))))
for error in errors:
    print(".".join(str(p) for p in error.absolute_path) or "<root>", ":", error.message)
sys.exit(1 if errors else 0)
"#;

/// Validates `object` (a ScaledObject or a TriggerAuthentication, by its `kind`) against KEDA's
/// CRD of its kind.
fn validate(object: &Value) -> Result<(), String> {
    let installed = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        installed,
        "the Python package jsonschema is not installed: run tests/run.sh, or \
         `python3 -m pip install jsonschema`"
    );
    let dir = tempfile::tempdir().unwrap();
    let schema_file = dir.path().join("schema.json");
    let object_file = dir.path().join("object.json");
    let schema = match object["kind"].as_str() {
        Some("TriggerAuthentication") => served_schema(
            "TriggerAuthentication",
            "triggerauthentications",
            "v1alpha1",
        ),
        _ => served_schema("ScaledObject", "scaledobjects", "v1alpha1"),
    };
    std::fs::write(&schema_file, schema.to_string()).unwrap();
    std::fs::write(&object_file, object.to_string()).unwrap();
    let output = Command::new("python3")
        .args(["-c", VALIDATE])
        .args([&schema_file, &object_file])
        .output()
        .unwrap();
    let messages = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    match output.status.code() {
        Some(0) => Ok(()),
        Some(1) if output.stderr.is_empty() => Err(messages),
        _ => panic!("the validator did not run: {messages}"),
    }
}

/// Processor `p` in `dev` reading streams `in1` and `in2`.
fn processor() -> Processor {
    let yaml = "metadata: {name: p, namespace: dev, labels: {app: a}}\n\
        spec:\n  inputs: [{stream: in1}, {stream: in2}]\n  \
        template: {spec: {containers: [{image: fn}]}}\n\
        status: {latestImage: fn}\n";
    serde_norway::from_str(yaml).unwrap()
}

/// An input read through gateway `franz`; Kafka-backed when `bootstrap_servers` is set.
fn input(topic: &str, bootstrap_servers: Option<&str>, partitions: u32) -> ScaledInput {
    ScaledInput {
        coordinates: StreamCoordinates {
            gateway: "franz-gateway-x7k2q.dev.svc.cluster.local:6565".into(),
            topic: topic.into(),
            bootstrap_servers: bootstrap_servers.map(Into::into),
            kafka_security: None,
        },
        partitions,
    }
}

/// The ScaledObject of `processor()` over `inputs`, as JSON, named as the API server would name
/// it from its `generateName`.
fn scaled_object(inputs: &[ScaledInput]) -> Value {
    let mut scaled_object =
        processor_scaled_object(&processor(), "p-processor-b8m4t", inputs, None, None)
            .expect("a processor with inputs has a ScaledObject");
    let generate_name = scaled_object.metadata.generate_name.clone().unwrap();
    assert_eq!(generate_name, "p-processor-");
    scaled_object.metadata.name = Some(format!("{generate_name}z9d5w"));
    let object = serde_json::to_value(&scaled_object).unwrap();
    assert_eq!(object["apiVersion"], "keda.sh/v1alpha1");
    assert_eq!(object["kind"], "ScaledObject");
    object
}

fn trigger_types(object: &Value) -> Vec<&str> {
    object["spec"]["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect()
}

#[test]
fn a_kafka_backed_processor_scaled_object_is_valid_for_keda() {
    let inputs = [
        input("dev_in1", Some("kafka.kafka:9092"), 3),
        input("dev_in2", Some("kafka.kafka:9092"), 2),
    ];
    let object = scaled_object(&inputs);
    assert_eq!(trigger_types(&object), ["kafka", "kafka"]);
    assert_eq!(
        object["spec"]["triggers"][0]["metadata"],
        json!({
            "bootstrapServers": "kafka.kafka:9092",
            "consumerGroup": "p",
            "topic": "dev_in1",
            "lagThreshold": "10",
        })
    );
    assert_eq!(object["spec"]["maxReplicaCount"], 5);
    validate(&object).unwrap_or_else(|e| panic!("KEDA's schema rejects {object:#}:\n{e}"));
}

/// An input on a Kafka cluster with SCRAM and TLS, its credentials in Secret `c`.
fn secured_input() -> ScaledInput {
    let mut secured = input("dev_in1", Some("kafka.kafka:9093"), 2);
    secured.coordinates.kafka_security = Some(
        serde_json::from_value(json!({
            "sasl": {"mechanism": "SCRAM-SHA-256", "user": {"name": "c", "key": "u"},
                     "password": {"name": "c", "key": "p"}},
            "tls": {"caCert": {"name": "c", "key": "ca.crt"}},
        }))
        .unwrap(),
    );
    secured
}

#[test]
fn an_authenticated_kafka_trigger_is_valid_for_keda() {
    let secured = secured_input();
    let mut scaled_object = processor_scaled_object(
        &processor(),
        "p-processor-b8m4t",
        &[secured],
        Some("p-auth"),
        None,
    )
    .unwrap();
    scaled_object.metadata.name = Some("p-processor-z9d5w".into());
    let object = serde_json::to_value(&scaled_object).unwrap();
    let trigger = &object["spec"]["triggers"][0];
    assert_eq!(trigger["authenticationRef"], json!({"name": "p-auth"}));
    assert_eq!(trigger["metadata"]["sasl"], "scram_sha256");
    assert_eq!(trigger["metadata"]["tls"], "enable");
    validate(&object).unwrap_or_else(|e| panic!("KEDA's schema rejects {object:#}:\n{e}"));
}

#[test]
fn the_trigger_authentication_of_a_secured_kafka_trigger_is_valid_for_keda() {
    let mut authentication = processor_trigger_authentication(&processor(), &[secured_input()])
        .expect("a secured input's triggers authenticate");
    authentication.metadata.name = Some("p-processor-z9d5w".into());
    let object = serde_json::to_value(&authentication).unwrap();
    assert_eq!(object["apiVersion"], "keda.sh/v1alpha1");
    assert_eq!(
        object["spec"]["secretTargetRef"],
        json!([
            {"parameter": "username", "name": "c", "key": "u"},
            {"parameter": "password", "name": "c", "key": "p"},
            {"parameter": "ca", "name": "c", "key": "ca.crt"},
        ])
    );
    validate(&object).unwrap_or_else(|e| panic!("KEDA's schema rejects {object:#}:\n{e}"));
    let mut broken = object;
    broken["spec"]["secretTargetRef"][0]
        .as_object_mut()
        .unwrap()
        .remove("parameter");
    let errors = validate(&broken).expect_err("a secretTargetRef without parameter accepted");
    assert!(
        errors.contains("'parameter' is a required property"),
        "{errors}"
    );
}

#[test]
fn a_gateway_backed_processor_scaled_object_is_valid_for_keda() {
    let inputs = [input("dev_in1", None, 1), input("dev_in2", None, 1)];
    let object = scaled_object(&inputs);
    assert_eq!(trigger_types(&object), ["liiklus", "liiklus"]);
    assert_eq!(
        object["spec"]["triggers"][1]["metadata"],
        json!({
            "address": "franz-gateway-x7k2q.dev.svc.cluster.local:6565",
            "group": "p",
            "topic": "dev_in2",
        })
    );
    assert_eq!(
        object["spec"]["scaleTargetRef"]["name"],
        "p-processor-b8m4t"
    );
    validate(&object).unwrap_or_else(|e| panic!("KEDA's schema rejects {object:#}:\n{e}"));
}

#[test]
fn broken_scaled_objects_are_rejected() {
    let valid = scaled_object(&[input("dev_in1", Some("kafka.kafka:9092"), 1)]);
    validate(&valid).unwrap();

    let mut wrong_type = valid.clone();
    wrong_type["spec"]["minReplicaCount"] = json!("one");
    let errors = validate(&wrong_type).expect_err("minReplicaCount: \"one\" accepted");
    assert!(errors.contains("spec.minReplicaCount"), "{errors}");

    let mut untyped = valid.clone();
    untyped["spec"]["triggers"][0]
        .as_object_mut()
        .unwrap()
        .remove("type");
    let errors = validate(&untyped).expect_err("a trigger without type accepted");
    assert!(errors.contains("spec.triggers.0"), "{errors}");
    assert!(errors.contains("'type' is a required property"), "{errors}");

    // KEDA 1's field, which riff 0.5 wrote: unknown to KEDA 2, and its required `name` is gone.
    let mut keda1 = valid;
    keda1["spec"]["scaleTargetRef"] = json!({"deploymentName": "p-processor-b8m4t"});
    let errors = validate(&keda1).expect_err("KEDA 1's scaleTargetRef accepted");
    assert!(errors.contains("deploymentName"), "{errors}");
    assert!(errors.contains("'name' is a required property"), "{errors}");
}
