//! Every manifest shipped in `deploy/` is a valid Kubernetes object (checked offline against the
//! Kubernetes OpenAPI schemas by the PyPI package `kubernetes-validate`, which `tests/run.sh`
//! installs), every riff CRD there has what `kubectl get` and the controller rely on, and the
//! PodMonitors of `deploy/monitoring/` are valid and select the pods that serve metrics.

use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use serde_json::Value;

use riff_actors::resources::{crds, Gateway, KafkaGateway, Stream};
use riff_kubernetes::children::gateway;
use serde::Deserialize;

/// The Kubernetes version of the k8s-openapi types (feature `v1_33`).
const KUBERNETES_VERSION: &str = "1.33.0";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn deploy_dir() -> PathBuf {
    workspace().join("deploy")
}

/// Every `.yaml`/`.yml` file under `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Runs kubernetes-validate on `files`; `Err` holds what it printed.
fn kubernetes_validate(files: &[PathBuf]) -> Result<(), String> {
    let installed = Command::new("python3")
        .args(["-c", "import kubernetes_validate"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        installed,
        "the validator is not installed: run tests/run.sh, or \
         `python3 -m pip install kubernetes-validate`"
    );
    let output = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict", "--quiet"])
        .args(["--kubernetes-version", KUBERNETES_VERSION])
        .args(files)
        .output()
        .unwrap();
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

#[test]
fn deploy_manifests_match_the_kubernetes_schemas() {
    // PodMonitors are not Kubernetes kinds: the_pod_monitors_are_valid... checks them.
    let monitoring = deploy_dir().join("monitoring");
    let mut files = yaml_files(&deploy_dir());
    files.retain(|file| !file.starts_with(&monitoring));
    assert!(!files.is_empty(), "no manifests under deploy/");
    if let Err(errors) = kubernetes_validate(&files) {
        panic!("kubernetes-validate rejected manifests under deploy/:\n{errors}");
    }
}

/// Stream `in` of `dev` once bound (its binding refs set).
fn bound_stream() -> Stream {
    serde_norway::from_str(
        "metadata: {name: in, namespace: dev, uid: 0b4b2ae8-7c34-4d84-b5a9-4a1f6b8a9e35}\n\
         spec: {gateway: {name: franz}}\n\
         status: {binding: {metadataRef: {name: in-stream-binding-metadata}, \
         secretRef: {name: in-stream-binding-secret}}}\n",
    )
    .unwrap()
}

/// The child Gateway of `kafka` (whose address is known) once its Service exists.
fn served_gateway(kafka: &KafkaGateway) -> Gateway {
    let images = gateway::GatewayImages {
        gateway: "riff:0.1.0".into(),
    };
    let mut child = gateway::kafka_gateway(kafka, &images);
    child.status =
        serde_norway::from_str("serviceRef: {kind: Service, name: franz-gateway-a}").unwrap();
    child
}

/// The Kubernetes objects the controller creates (as `children` builds them, given a name as
/// the API server would) are valid for the Kubernetes API; a broken one is rejected.
#[test]
fn the_children_the_controller_creates_match_the_kubernetes_schemas() {
    use riff_actors::resources::{KafkaGateway, Processor};
    use riff_kubernetes::children::{gateway, processor, stream};

    // A gateway with TLS and SCRAM: its pod and the processor's mount the Secrets they name.
    let kafka: KafkaGateway = serde_norway::from_str(
        "metadata: {name: franz, namespace: dev}\n\
         spec: {bootstrapServers: 'kafka:9093', tls: {caCert: {name: kafka-ca, key: ca.crt}}, \
         sasl: {mechanism: SCRAM-SHA-512, user: {name: creds, key: user}, \
         password: {name: creds, key: password}}}\n\
         status: {address: {url: 'http://franz-gateway-a.dev.svc.cluster.local'}}\n",
    )
    .unwrap();
    let child = served_gateway(&kafka);
    let stream = bound_stream();
    let coordinates = stream::StreamCoordinates {
        gateway: "franz-gateway-a.dev.svc.cluster.local:6565".into(),
        topic: "dev_in".into(),
        bootstrap_servers: Some("kafka:9093".into()),
        kafka_security: Some(kafka.spec.security()),
    };
    let secrets: Vec<_> = kafka
        .spec
        .security()
        .secret_refs()
        .into_iter()
        .cloned()
        .collect();
    let p: Processor = serde_norway::from_str(
        "metadata: {name: p, namespace: dev}\nspec: {inputs: [{stream: in}], outputs: [{stream: in}], \
         window: {duration: 5s}, template: {spec: {containers: [{image: fn}]}}}\n\
         status: {latestImage: fn}\n",
    )
    .unwrap();
    let named = |mut object: serde_json::Value, name: &str| {
        object["metadata"]["name"] = name.into();
        object
    };
    let objects = [
        named(
            serde_json::to_value(gateway::gateway_service(&child).unwrap()).unwrap(),
            "franz-gateway-a",
        ),
        named(
            serde_json::to_value(gateway::gateway_deployment(&child, None).unwrap()).unwrap(),
            "franz-gateway-b",
        ),
        serde_json::to_value(stream::binding_metadata(&stream)).unwrap(),
        serde_json::to_value(stream::binding_secret(&stream, &coordinates).unwrap()).unwrap(),
        named(
            serde_json::to_value(
                processor::processor_deployment(&p, "riff:0.1.0", &[stream], &secrets, None)
                    .unwrap(),
            )
            .unwrap(),
            "p-processor-a",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, object: &serde_json::Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, serde_norway::to_string(object).unwrap()).unwrap();
        path
    };
    let files: Vec<PathBuf> = objects
        .iter()
        .enumerate()
        .map(|(i, object)| write(&format!("child-{i}.yaml"), object))
        .collect();
    if let Err(errors) = kubernetes_validate(&files) {
        panic!("kubernetes-validate rejected a child the controller creates:\n{errors}");
    }
    let mut broken = objects[4].clone();
    broken["spec"]["template"]["spec"]["containers"][1]["env"][0]["value"] = 1.into();
    let broken = write("broken.yaml", &broken);
    assert!(
        kubernetes_validate(&[broken]).is_err(),
        "a number as an env value was accepted"
    );
}

#[test]
fn every_crd_has_status_category_riff_and_ready_reason_age() {
    let mut found = 0;
    for file in yaml_files(&deploy_dir()) {
        let text = std::fs::read_to_string(&file).unwrap();
        for document in serde_norway::Deserializer::from_str(&text) {
            let object = serde_json::Value::deserialize(document).unwrap();
            // Our CRDs only: deploy/keda/ vendors KEDA's, for validation.
            if object["kind"] != "CustomResourceDefinition"
                || object["spec"]["group"] != "streaming.projectriff.io"
            {
                continue;
            }
            found += 1;
            let name = &object["metadata"]["name"];
            let spec = &object["spec"];
            assert_eq!(
                spec["names"]["categories"],
                serde_json::json!(["riff"]),
                "{name}"
            );
            let versions = spec["versions"].as_array().unwrap();
            assert!(!versions.is_empty(), "{name}");
            for version in versions {
                assert_eq!(
                    version["subresources"]["status"],
                    serde_json::json!({}),
                    "{name}: status subresource"
                );
                let columns: Vec<(&str, &str)> = version["additionalPrinterColumns"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{name}: no printer columns"))
                    .iter()
                    .map(|c| (c["name"].as_str().unwrap(), c["jsonPath"].as_str().unwrap()))
                    .collect();
                assert!(columns.len() >= 3, "{name}: {columns:?}");
                assert_eq!(
                    columns[columns.len() - 3..],
                    [
                        ("Ready", r#".status.conditions[?(@.type=="Ready")].status"#),
                        ("Reason", r#".status.conditions[?(@.type=="Ready")].reason"#),
                        ("Age", ".metadata.creationTimestamp"),
                    ],
                    "{name}"
                );
            }
        }
    }
    assert_eq!(found, crds::all().len(), "one CRD per kind in deploy/");
}

// deploy/monitoring/podmonitors.yaml: every PodMonitor is valid for the Prometheus Operator
// (checked with the models generated from its CRD schema, the npm package
// `@kubernetes-models/prometheus-operator`, which `tests/run.sh` installs under
// `.tools/kubernetes-models`), and each one selects the pods it is meant for, by their labels
// and the name of the port serving `GET /metrics`: the processor pods and the gateway pods the
// controller creates, and the controller's own pods (`deploy/controller.yaml`).

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
    let input = serde_json::to_vec(monitors).unwrap();
    let mut node = Command::new("node");
    node.args(["--input-type=module", "-e", VALIDATE])
        .current_dir(models);
    let output = riff_testkit::run_with_input("node", &mut node, &input);
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
    use riff_actors::resources::Processor;
    use riff_kubernetes::children::processor;
    let stream = bound_stream();
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
    let child = served_gateway(&kafka);
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
