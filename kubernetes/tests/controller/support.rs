//! A cluster for controller tests: the in-memory Kubernetes API, the image ConfigMaps, a real
//! provisioner API over the in-memory broker standing in for every gateway's Service, and the
//! controller running against them.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fake_apiserver::FakeApiServer;
use riff_actors::broker::memory::MemoryBroker;
use riff_kubernetes::context::ControllerContext;
use riff_kubernetes::controller::{self, ControllerOptions};
use riff_kubernetes::provisioner::Provisioner;
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub use riff_actors::resources::API_VERSION as STREAMING;
pub const SYSTEM_NAMESPACE: &str = "riff-system";
/// The gateway address the test provisioner answers with.
pub const GATEWAY_ADDRESS: &str = "gateway.test:6565";

/// The in-memory API with a controller reconciling it; dropping it stops the controller.
pub struct Cluster {
    pub api: FakeApiServer,
    pub client: kube::Client,
    stop: Option<oneshot::Sender<()>>,
}

/// How the test cluster's controller reaches provisioners.
pub enum Provisioners {
    /// A real provisioner API over the in-memory broker.
    Memory,
    /// Whatever listens at this address.
    At(SocketAddr),
}

impl Cluster {
    /// Image ConfigMaps, a provisioner, and a controller without leader election.
    pub async fn start() -> Cluster {
        Cluster::start_with(Provisioners::Memory).await
    }

    pub async fn start_with(provisioners: Provisioners) -> Cluster {
        Cluster::launch(provisioners, None).await
    }

    /// Like [`Cluster::start`], with a controller reconciling `namespace` only.
    pub async fn start_watching(namespace: &str) -> Cluster {
        Cluster::launch(Provisioners::Memory, Some(namespace.to_owned())).await
    }

    async fn launch(provisioners: Provisioners, namespace: Option<String>) -> Cluster {
        let api = FakeApiServer::start();
        let client = api.client("default");
        install_images(&api);
        let address = match provisioners {
            Provisioners::Memory => serve_provisioner().await,
            Provisioners::At(address) => address,
        };
        let context = ControllerContext::new(
            client.clone(),
            SYSTEM_NAMESPACE,
            Provisioner::resolving_to(address),
            Some("test".into()),
        );
        let (stop, stopped) = oneshot::channel();
        let options = ControllerOptions {
            probes_address: None,
            leader_election: false,
            identity: "test".into(),
            lease_duration: Duration::from_secs(2),
            namespace,
        };
        actix::spawn(controller::run(context, options, async {
            stopped.await.ok();
        }));
        Cluster {
            api,
            client,
            stop: Some(stop),
        }
    }

    /// Stores the objects of a YAML document stream (namespace `default` unless given).
    pub fn apply(&self, yaml: &str) {
        for document in serde_norway::Deserializer::from_str(yaml) {
            let mut object: Value = serde::Deserialize::deserialize(document).unwrap();
            if object["metadata"]["namespace"].is_null() {
                object["metadata"]["namespace"] = json!("default");
            }
            let api_version = object["apiVersion"].as_str().unwrap().to_owned();
            let plural = plural(object["kind"].as_str().unwrap());
            self.api.put_object(&api_version, &plural, object);
        }
    }

    /// Changes object `plural/name` in `default` with `change` (a user's edit).
    pub fn edit(
        &self,
        api_version: &str,
        plural: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) {
        let mut object = self.get(api_version, plural, name).expect(name);
        change(&mut object);
        self.api.put_object(api_version, plural, object);
    }

    /// Object `plural/name` in `default`.
    pub fn get(&self, api_version: &str, plural: &str, name: &str) -> Option<Value> {
        self.api.get_object(api_version, plural, "default", name)
    }

    /// Every object of `plural` in `default`.
    pub fn list(&self, api_version: &str, plural: &str) -> Vec<Value> {
        self.api.list_objects(api_version, plural, Some("default"))
    }

    /// The only object of `plural` in `default` labelled `label=value`, once there is exactly one.
    pub async fn only(&self, api_version: &str, plural: &str, label: &str, value: &str) -> Value {
        let what = format!("one {plural} labelled {label}={value}");
        eventually(&what, || {
            let matching: Vec<Value> = self
                .list(api_version, plural)
                .into_iter()
                .filter(|o| o["metadata"]["labels"][label] == value)
                .collect();
            (matching.len() == 1).then(|| matching[0].clone())
        })
        .await
    }

    /// Waits until condition `type_` of `plural/name` has `status` (and `reason`, if given).
    pub async fn condition(
        &self,
        plural: &str,
        name: &str,
        type_: &str,
        status: &str,
        reason: Option<&str>,
    ) -> Value {
        self.condition_saying(plural, name, type_, status, reason, "")
            .await
    }

    /// Like [`Cluster::condition`], and also waits for a message starting with `message`: several
    /// causes share a reason, and an earlier one may still be on record.
    pub async fn condition_saying(
        &self,
        plural: &str,
        name: &str,
        type_: &str,
        status: &str,
        reason: Option<&str>,
        message: &str,
    ) -> Value {
        let what = format!("{plural}/{name} {type_}={status} {reason:?} {message:?}");
        eventually(&what, || {
            let object = self.get(STREAMING, plural, name)?;
            let found = condition(&object, type_)?;
            let matches = found["status"] == status
                && reason.is_none_or(|r| found["reason"] == r)
                && found["message"].as_str().unwrap_or("").starts_with(message);
            matches.then_some(found)
        })
        .await
    }

    /// Reports Deployment `name` as Kubernetes' deployment controller would: progressing, or
    /// available.
    pub fn set_deployment(&self, name: &str, available: bool) {
        self.edit("apps/v1", "deployments", name, |deployment| {
            let (available_status, reason) = if available {
                ("True", "MinimumReplicasAvailable")
            } else {
                ("False", "MinimumReplicasUnavailable")
            };
            deployment["status"] = json!({"conditions": [
                {"type": "Available", "status": available_status, "reason": reason,
                 "message": "Deployment has minimum availability."},
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                 "message": format!("ReplicaSet \"{name}-1\" is progressing.")},
            ]});
        });
    }

    /// Waits for an Event about `kind/name` whose `(type, reason, note)` `matches`: the recorder
    /// writes Events after the change they report.
    pub async fn event(&self, kind: &str, name: &str, matches: impl Fn(&str, &str, &str) -> bool) {
        let what = format!("an Event about {kind} {name}");
        eventually(&what, || {
            let events = self.events(kind, name);
            events
                .iter()
                .any(|(t, r, n)| matches(t, r, n))
                .then_some(())
        })
        .await
    }

    /// `(type, reason, note)` of every Event recorded about `kind/name`.
    fn events(&self, kind: &str, name: &str) -> Vec<(String, String, String)> {
        self.api
            .list_objects("events.k8s.io/v1", "events", Some("default"))
            .into_iter()
            .filter(|e| e["regarding"]["kind"] == kind && e["regarding"]["name"] == name)
            .map(|e| {
                let text = |key: &str| e[key].as_str().unwrap_or_default().to_owned();
                (text("type"), text("reason"), text("note"))
            })
            .collect()
    }

    /// How many requests so far had `method` and a path containing `path`.
    pub fn count_requests(&self, method: &str, path: &str) -> usize {
        self.api
            .requests()
            .iter()
            .filter(|(m, p)| m == method && p.contains(path))
            .count()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
    }
}

/// Runs a controller (with leader election when asked, as `identity`, with probes when given an
/// address) over every namespace until `stop`.
pub async fn run_controller_as(
    context: ControllerContext,
    leader_election: bool,
    identity: &str,
    probes_address: Option<SocketAddr>,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let options = ControllerOptions {
        probes_address,
        leader_election,
        identity: identity.to_owned(),
        lease_duration: Duration::from_secs(2),
        namespace: None,
    };
    controller::run(context, options, stop).await
}

/// The image ConfigMaps riff-system holds.
pub fn install_images(api: &FakeApiServer) {
    for (name, key, image) in [
        (
            "riff-streaming-kafka-gateway",
            "gatewayImage",
            "riff:gateway",
        ),
        (
            "riff-streaming-inmemory-gateway",
            "gatewayImage",
            "riff:gateway",
        ),
        (
            "riff-streaming-processor",
            "processorImage",
            "riff:processor",
        ),
    ] {
        api.put_object(
            "v1",
            "configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": name, "namespace": SYSTEM_NAMESPACE},
                   "data": {key: image}}),
        );
    }
}

/// A provisioner API over a fresh in-memory broker on a loopback port.
async fn serve_provisioner() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let broker = Arc::new(MemoryBroker::new());
    actix::spawn(riff_actors::gateway::serve_provisioner(
        broker,
        GATEWAY_ADDRESS,
        listener,
        std::future::pending(),
    ));
    address
}

/// Condition `type_` of an object's status.
pub fn condition(object: &Value, type_: &str) -> Option<Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .cloned()
}

/// How long a controller test waits for a condition.
const WAIT: Duration = Duration::from_secs(20);

/// Checks `check` (it reads the fake API server) until it answers, within [`WAIT`].
pub async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    riff_testkit::eventually_async(what, WAIT, || std::future::ready(check())).await
}

pub use riff_testkit::stays;

/// The plural of one of the kinds tests create.
fn plural(kind: &str) -> String {
    match kind {
        "KafkaGateway" => "kafkagateways".into(),
        "InMemoryGateway" => "inmemorygateways".into(),
        other => format!("{}s", other.to_lowercase()),
    }
}
