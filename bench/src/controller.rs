//! The controller's convergence: gateways, streams and processors created at once, timed until
//! every one is Ready. The controller is `riff system controller`, a process of its own (its CPU
//! and peak RSS measured through `/proc`), against the in-memory Kubernetes API
//! (`fake-apiserver`, in the bench's process) with a real provisioner API. The bench plays
//! Kubernetes' deployment controller (it reports every Deployment available). Baseline: the
//! same number of API writes the controller made, done one after another by one kube-rs client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_apiserver::FakeApiServer;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::PostParams;
use kube::Api;
use riff_actors::broker::memory::MemoryBroker;
use serde_json::{json, Value};

use crate::function::sibling;
use crate::measure::{cpu_seconds, rss_mib};

use riff_actors::resources::API_VERSION as STREAMING;

/// What converging cost.
pub struct Convergence {
    /// Seconds until every stream and processor was Ready.
    pub seconds: f64,
    /// Seconds of the baseline's writes.
    pub baseline: f64,
    /// API writes the controller made meanwhile.
    pub writes: usize,
    /// CPU seconds of the controller process meanwhile.
    pub cpu: f64,
    /// Peak resident MiB of the controller process.
    pub peak_rss: f64,
}

/// `riff system controller` against `api` (through a kubeconfig in `dir`), with `provisioner`
/// as every gateway's provisioner API; killed when dropped.
struct Controller {
    process: riff_testkit::Child,
}

impl Controller {
    fn start(api: &FakeApiServer, dir: &std::path::Path, provisioner: &str) -> Controller {
        let kubeconfig = dir.join("kubeconfig");
        api.write_kubeconfig(&kubeconfig, "default").unwrap();
        let child = std::process::Command::new(sibling("riff"))
            .args(["system", "controller", "--provisioner-address", provisioner])
            .env("KUBECONFIG", &kubeconfig)
            .env("SYSTEM_NAMESPACE", "riff-system")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("riff system controller starts");
        Controller {
            process: child.into(),
        }
    }
}

/// Converging `resources` streams and as many processors, and the baseline's writes.
pub async fn convergence(resources: usize) -> Convergence {
    let api = FakeApiServer::start();
    for (name, key) in [
        ("riff-streaming-inmemory-gateway", "gatewayImage"),
        ("riff-streaming-processor", "processorImage"),
    ] {
        api.put_object(
            "v1",
            "configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "riff-system"}, "data": {key: "riff"}}),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let provisioner = listener.local_addr().unwrap();
    actix::spawn(riff_actors::gateway::serve_provisioner(
        Arc::new(MemoryBroker::new()),
        "gateway:6565",
        listener,
        std::future::pending(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::start(&api, dir.path(), &provisioner.to_string());
    let pid = controller.process.id();
    let object = |kind: &str, name: String, spec: Value| {
        json!({"apiVersion": STREAMING, "kind": kind,
               "metadata": {"name": name, "namespace": "default"}, "spec": spec})
    };
    api.put_object(
        STREAMING,
        "inmemorygateways",
        object("InMemoryGateway", "gw".into(), json!({})),
    );
    wait_ready(&api, "gateways", 1).await;

    let writes_before = writes(&api);
    let cpu_before = cpu_seconds(pid);
    let start = Instant::now();
    for i in 0..resources {
        let stream = object(
            "Stream",
            format!("s{i}"),
            json!({"gateway": {"name": "gw"}}),
        );
        api.put_object(STREAMING, "streams", stream);
        let spec = json!({"inputs": [{"stream": format!("s{i}")}],
                          "template": {"spec": {"containers": [{"image": "fn"}]}}});
        api.put_object(
            STREAMING,
            "processors",
            object("Processor", format!("p{i}"), spec),
        );
    }
    wait_ready(&api, "streams", resources).await;
    wait_ready(&api, "processors", resources).await;
    let converged = start.elapsed().as_secs_f64();
    let count = writes(&api) - writes_before;
    let cpu = cpu_seconds(pid) - cpu_before;
    let peak_rss = rss_mib(pid).1;
    drop(controller);

    let configmaps: Api<ConfigMap> = Api::namespaced(api.client("default"), "baseline");
    let start = Instant::now();
    for i in 0..count {
        let mut config_map = ConfigMap::default();
        config_map.metadata.name = Some(format!("c{i}"));
        configmaps
            .create(&PostParams::default(), &config_map)
            .await
            .unwrap();
    }
    Convergence {
        seconds: converged,
        baseline: start.elapsed().as_secs_f64(),
        writes: count,
        cpu,
        peak_rss,
    }
}

/// API writes so far (the bench's own direct writes do not go through HTTP).
fn writes(api: &FakeApiServer) -> usize {
    api.requests()
        .iter()
        .filter(|(method, _)| matches!(method.as_str(), "POST" | "PUT" | "PATCH"))
        .count()
}

/// Waits until `count` objects of `plural` are Ready, reporting every Deployment available
/// meanwhile.
async fn wait_ready(api: &FakeApiServer, plural: &str, count: usize) {
    loop {
        for mut deployment in api.list_objects("apps/v1", "deployments", Some("default")) {
            if deployment["status"]["conditions"].is_null() {
                deployment["status"] = json!({"conditions": [
                    {"type": "Available", "status": "True"},
                    {"type": "Progressing", "status": "True"}]});
                api.put_object("apps/v1", "deployments", deployment);
            }
        }
        let ready = api
            .list_objects(STREAMING, plural, Some("default"))
            .iter()
            .filter(|o| {
                o["status"]["conditions"]
                    .as_array()
                    .is_some_and(|conditions| {
                        conditions
                            .iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
            })
            .count();
        if ready >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
