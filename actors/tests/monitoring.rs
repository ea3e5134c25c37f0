//! `deploy/monitoring/podmonitors.yaml`: every PodMonitor is valid for the Prometheus Operator
//! (checked with the models generated from its CRD schema, the npm package
//! `@kubernetes-models/prometheus-operator`, which `tests/run.sh` installs under
//! `.tools/kubernetes-models`), and each one selects the pods it is meant for, by their labels
//! and the name of the port serving `GET /metrics`: the processor pods and the gateway pods the
//! controller creates, and the controller's own pods (`deploy/controller.yaml`).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use k8s_openapi::api::apps::v1::Deployment;
use riff_actors::platform::kubernetes::children::{gateway, processor};
use riff_actors::resources::{KafkaGateway, Processor, Stream};
use serde::Deserialize;
use serde_json::Value;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The documents of a YAML file under the workspace, as JSON.
fn documents(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(workspace().join(path)).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).unwrap())
        .collect()
}

/// Validates `monitors` with the Prometheus Operator's generated models; `Err` names the
/// failures.
fn validate(monitors: &[Value]) -> Result<(), String> {
    const VALIDATE: &str = r#"
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { readFileSync } from "node:fs";
const failures = [];
for (const monitor of JSON.parse(readFileSync(0, "utf8"))) {
  try { new PodMonitor(monitor).validate(); }
  catch (error) { failures.push(`${monitor.metadata.name}: ${error.message}`); }
}
if (failures.length) { console.error(failures.join("\n")); process.exit(1); }
"#;
    let models = workspace().join(".tools/kubernetes-models");
    assert!(
        models
            .join("node_modules/@kubernetes-models/prometheus-operator")
            .exists(),
        "the models are not installed: run tests/run.sh"
    );
    let mut node = Command::new("node")
        .args(["--input-type=module", "-e", VALIDATE])
        .current_dir(models)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let input = serde_json::to_vec(monitors).unwrap();
    node.stdin.take().unwrap().write_all(&input).unwrap();
    let output = node.wait_with_output().unwrap();
    match output.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
    }
}

/// The pod labels and container port names of a Deployment.
fn pod(deployment: &Value) -> (&serde_json::Map<String, Value>, Vec<&str>) {
    let template = &deployment["spec"]["template"];
    let labels = template["metadata"]["labels"].as_object().unwrap();
    let ports = template["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|container| container["ports"].as_array().into_iter().flatten())
        .filter_map(|port| port["name"].as_str())
        .collect();
    (labels, ports)
}

/// Whether `monitor` selects a pod with `labels` and scrapes one of its `ports`.
fn selects(monitor: &Value, (labels, ports): (&serde_json::Map<String, Value>, Vec<&str>)) -> bool {
    let selector = &monitor["spec"]["selector"];
    let matched = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(key, value)| labels.get(key) == Some(value));
    let expressed = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|expression| {
            assert_eq!(
                expression["operator"], "Exists",
                "only Exists is checked here"
            );
            labels.contains_key(expression["key"].as_str().unwrap())
        });
    let endpoints = monitor["spec"]["podMetricsEndpoints"].as_array().unwrap();
    let scraped = endpoints.iter().all(|endpoint| {
        endpoint["path"] == "/metrics" && ports.contains(&endpoint["port"].as_str().unwrap())
    });
    matched && expressed && scraped
}

fn processor_deployment() -> Value {
    let stream: Stream = serde_norway::from_str(
        "metadata: {name: in, namespace: dev, uid: 0b4b2ae8-7c34-4d84-b5a9-4a1f6b8a9e35}\n\
         spec: {gateway: {name: franz}}\n\
         status: {binding: {metadataRef: {name: in-stream-binding-metadata}, \
         secretRef: {name: in-stream-binding-secret}}}\n",
    )
    .unwrap();
    let p: Processor = serde_norway::from_str(
        "metadata: {name: p, namespace: dev}\nspec: {inputs: [{stream: in}], \
         template: {spec: {containers: [{image: fn}]}}}\nstatus: {latestImage: fn}\n",
    )
    .unwrap();
    let deployment = processor::processor_deployment(&p, "riff:0.1.0", &[stream], &[], None);
    serde_json::to_value(deployment.unwrap()).unwrap()
}

fn gateway_deployment() -> Value {
    let kafka: KafkaGateway = serde_norway::from_str(
        "metadata: {name: franz, namespace: dev}\nspec: {bootstrapServers: 'kafka:9092'}\n\
         status: {address: {url: 'http://franz-gateway-a.dev.svc.cluster.local'}}\n",
    )
    .unwrap();
    let images = gateway::GatewayImages {
        gateway: "riff:0.1.0".into(),
    };
    let mut child = gateway::kafka_gateway(&kafka, &images);
    child.status =
        serde_norway::from_str("serviceRef: {kind: Service, name: franz-gateway-a}").unwrap();
    let deployment: Option<Deployment> = gateway::gateway_deployment(&child, None);
    serde_json::to_value(deployment.unwrap()).unwrap()
}

#[test]
fn the_pod_monitors_are_valid_and_select_the_pods_that_serve_metrics() {
    let monitors = documents("deploy/monitoring/podmonitors.yaml");
    if let Err(failures) = validate(&monitors) {
        panic!("the Prometheus Operator's schema rejected a PodMonitor:\n{failures}");
    }
    let mut broken = monitors[0].clone();
    broken["spec"]["podMetricsEndpoints"][0]["port"] = 8090.into();
    assert!(
        validate(&[broken]).is_err(),
        "a numeric port name was accepted"
    );

    let controller = documents("deploy/controller.yaml")
        .into_iter()
        .find(|object| object["kind"] == "Deployment")
        .unwrap();
    let named = |name: &str| {
        monitors
            .iter()
            .find(|monitor| monitor["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no PodMonitor {name}"))
    };
    let (processors, gateways) = (processor_deployment(), gateway_deployment());
    for (monitor, selected, other) in [
        ("riff-streaming-processors", &processors, &gateways),
        ("riff-streaming-gateways", &gateways, &processors),
        ("riff-streaming-controller", &controller, &processors),
    ] {
        assert!(
            selects(named(monitor), pod(selected)),
            "{monitor} misses its pods"
        );
        assert!(
            !selects(named(monitor), pod(other)),
            "{monitor} selects other pods"
        );
    }
}
