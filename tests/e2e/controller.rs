//! `riff system controller`, the real binary, against an in-memory Kubernetes API (given as a
//! kubeconfig) and a real `riff gateway` process as every gateway's provisioner: it reconciles
//! gateways, streams and processors, logs one JSON line per reconcile outcome and failure, serves
//! its probes and metrics, and exits cleanly on SIGTERM.

use std::process::Command;
use std::time::Duration;

use fake_apiserver::FakeApiServer;
use serde_json::{json, Value};

use crate::cluster::Cluster;
use crate::support::*;

use riff_actors::resources::API_VERSION as STREAMING;

/// How long the controller gets for each step.
const WAIT: Duration = Duration::from_secs(30);

fn ready(api: &FakeApiServer, plural: &str, name: &str) -> Option<()> {
    let object = api.get_object(STREAMING, plural, "default", name)?;
    let conditions = object["status"]["conditions"].as_array()?.clone();
    conditions
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
        .then_some(())
}

/// The image ConfigMaps of `riff-system`, as `deploy/images.yaml` installs them.
pub fn install_images(api: &FakeApiServer) {
    for (name, key) in [
        ("riff-streaming-kafka-gateway", "gatewayImage"),
        ("riff-streaming-inmemory-gateway", "gatewayImage"),
        ("riff-streaming-processor", "processorImage"),
    ] {
        api.put_object(
            "v1",
            "configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "riff-system"}, "data": {key: "riff:0.1.0"}}),
        );
    }
}

/// A `riff gateway` process over memory, standing in for every gateway's Service; the port of
/// its provisioner API.
pub fn start_gateway() -> (Logged, u16) {
    let (grpc, provisioner) = (free_port(), free_port());
    let gateway = Logged::spawn("riff gateway", &mut riff_gateway(grpc, provisioner, None));
    (gateway, provisioner)
}

/// Reports every Deployment of `default` available, as Kubernetes' deployment controller would
/// once its pods run.
pub fn make_deployments_available(api: &FakeApiServer) {
    for mut deployment in api.list_objects("apps/v1", "deployments", Some("default")) {
        if deployment["status"]["conditions"].is_null() {
            deployment["status"] = json!({"conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]});
            api.put_object("apps/v1", "deployments", deployment);
        }
    }
}

#[test]
fn the_controller_binary_reconciles_a_cluster_and_logs_json() {
    let cluster = Cluster::start();
    let (api, kubeconfig) = (&cluster.api, &cluster.kubeconfig);
    install_images(api);
    let (_gateway, provisioner) = start_gateway();
    let probes = free_port();
    api.fail_next("GET", "/processors/p", 1, 500);
    let mut controller = Logged::spawn(
        "riff system controller",
        Command::new(riff())
            .args(["--log-format", "json", "system", "controller"])
            .args(["--probes-address", &format!("127.0.0.1:{probes}")])
            .args(["--provisioner-address", &format!("127.0.0.1:{provisioner}")])
            .env("KUBECONFIG", kubeconfig)
            .env("SYSTEM_NAMESPACE", "riff-system")
            .env("RUST_LOG", "info"),
    );

    let object = |kind: &str, plural: &str, name: &str, spec: Value| {
        api.put_object(
            STREAMING,
            plural,
            json!({"apiVersion": STREAMING, "kind": kind,
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}),
        );
    };
    object("InMemoryGateway", "inmemorygateways", "franz", json!({}));
    object(
        "Stream",
        "streams",
        "in",
        json!({"gateway": {"name": "franz"}, "contentType": "text/plain"}),
    );
    object(
        "Processor",
        "processors",
        "p",
        json!({"inputs": [{"stream": "in"}],
        "template": {"spec": {"containers": [{"image": "fn:1"}]}}}),
    );

    eventually("the gateway Deployment", WAIT, || {
        api.list_objects("apps/v1", "deployments", Some("default"))
            .into_iter()
            .find(|d| d["metadata"]["labels"]["streaming.projectriff.io/gateway"] == "franz")
    });
    make_deployments_available(api);
    eventually("Stream in Ready", WAIT, || ready(api, "streams", "in"));
    let secret = api
        .get_object("v1", "secrets", "default", "in-stream-binding-secret")
        .unwrap();
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(secret).unwrap();
    let topic = &secret.data.unwrap()["topic"];
    assert_eq!(
        String::from_utf8_lossy(&topic.0),
        "default/in",
        "provisioned by riff gateway"
    );
    eventually("the processor's ScaledObject", WAIT, || {
        api.list_objects("keda.sh/v1alpha1", "scaledobjects", Some("default"))
            .pop()
    });

    assert_eq!(http(probes, "GET", "/healthz", "").0, 200);
    assert_eq!(http(probes, "GET", "/readyz", "").0, 200);
    let (_, metrics) = http(probes, "GET", "/metrics", "");
    let value = |series: &str| -> f64 {
        let line = metrics
            .lines()
            .find(|line| line.starts_with(series))
            .unwrap_or_else(|| panic!("no {series} in {metrics}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(value("riff_reconcile_passes_total{kind=\"Stream\",outcome=\"success\"}") >= 1.0);
    assert!(value("riff_reconcile_passes_total{kind=\"Processor\",outcome=\"error\"}") >= 1.0);
    assert_eq!(value("riff_resources{kind=\"Processor\"}"), 1.0);

    let records: Vec<Value> = controller
        .lines()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}")))
        .collect();
    let stream_ready = records.iter().any(|r| {
        r["message"] == "reconciled"
            && r["resource"] == "Stream default/in"
            && r["ready"] == "Ready"
    });
    assert!(
        stream_ready,
        "no reconcile line for the stream: {records:#?}"
    );
    let failure = records
        .iter()
        .find(|r| r["message"] == "failed" && r["resource"] == "Processor default/p")
        .unwrap_or_else(|| panic!("no failure line: {records:#?}"));
    assert_eq!(failure["attempt"], 1);
    assert!(failure["next_backoff"].is_string(), "{failure}");
    assert!(
        failure["reason"].as_str().unwrap().contains("500"),
        "{failure}"
    );

    controller.child().terminate();
    let status = controller.wait_exit(WAIT);
    assert!(status.success(), "{status:?}");
}
