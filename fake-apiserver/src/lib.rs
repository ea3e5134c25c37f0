//! An in-memory Kubernetes API server over real HTTP on loopback, for tests.
//!
//! Clients (kube-rs `Client`, `Api`, `watcher`, event recorders, or a child process given a
//! kubeconfig) talk to it as to a real API server. It stores arbitrary JSON objects of any
//! group, version and plural; see the crate README for what it does not do.

mod logs;
mod patch;
mod routes;
mod selector;
mod server;
mod shared;
mod status;
mod store;
mod timestamp;
mod watch;

use serde_json::{json, Value};
use shared::Shared;
use std::sync::Arc;
use store::{Mode, Resource};

/// An in-memory Kubernetes API server listening on `127.0.0.1`; dropping it stops the server.
pub struct FakeApiServer {
    url: String,
    shared: Arc<Shared>,
    _running: server::Running,
}

impl FakeApiServer {
    /// Binds 127.0.0.1:0 and serves from a dedicated background thread with its own tokio runtime
    /// (so it works from sync tests, #[tokio::test], and actix_rt tests alike).
    ///
    /// Panics if the loopback port cannot be bound or the thread cannot be started.
    pub fn start() -> FakeApiServer {
        let shared = Arc::new(Shared::new());
        let (address, running) =
            server::spawn(shared.clone()).expect("fake-apiserver: cannot start the server");
        FakeApiServer {
            url: format!("http://{address}"),
            shared,
            _running: running,
        }
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// A kube::Client for this server with default namespace `namespace` (call inside a tokio runtime).
    #[cfg(feature = "client")]
    pub fn client(&self, namespace: &str) -> kube::Client {
        let url = self
            .url
            .parse()
            .expect("fake-apiserver: the server URL is a valid URI");
        let mut config = kube::Config::new(url);
        config.default_namespace = namespace.to_string();
        kube::Client::try_from(config).expect("fake-apiserver: cannot build a kube client")
    }

    /// Writes a kubeconfig file (cluster server = url, current-context with that namespace, a dummy token user) that kube-rs `Config::infer()` and `Client::try_default()` accept via the KUBECONFIG env var.
    pub fn write_kubeconfig(&self, path: &std::path::Path, namespace: &str) -> std::io::Result<()> {
        let kubeconfig = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{
                "name": "fake",
                "context": {"cluster": "fake", "user": "fake", "namespace": namespace},
            }],
            "current-context": "fake",
            "preferences": {},
        });
        let yaml = serde_norway::to_string(&kubeconfig).map_err(std::io::Error::other)?;
        std::fs::write(path, yaml)
    }

    /// The next `times` requests whose method equals `method` (e.g. "PUT", "POST", "GET", "PATCH", "DELETE") and whose path contains `path_contains` get a Kubernetes Status error with HTTP `code` (e.g. 500) instead of being served.
    ///
    /// `path_contains` is matched against the path including the query string. Note that
    /// kube-rs clients retry 429, 503 and 504 by themselves.
    pub fn fail_next(&self, method: &str, path_contains: &str, times: usize, code: u16) {
        self.shared.fail_next(method, path_contains, times, code);
    }

    /// Every request served so far, as (method, path-with-query) in order.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.shared.requests()
    }

    /// Appends `text` to the log of container `container` of pod `pod`; served at GET /api/v1/namespaces/{ns}/pods/{pod}/log?container=..&follow=..&sinceSeconds=..  (with follow=true the response stays open and streams later appends until the pod is deleted or the server stops).
    pub fn append_pod_log(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        self.shared.write(false, |store| {
            store.logs.append(namespace, pod, container, text)
        });
    }

    /// Direct access for test setup/inspection without HTTP: the object of `plural` in
    /// `api_version` (e.g. "apps/v1" or "v1") named `name` in `namespace` (empty for
    /// cluster-scoped objects such as Namespaces).
    pub fn get_object(
        &self,
        api_version: &str,
        plural: &str,
        namespace: &str,
        name: &str,
    ) -> Option<Value> {
        let resource = Resource::new(api_version, plural);
        self.shared
            .read(|store| store.get(&resource, namespace, name).cloned())
    }

    /// Direct access for test setup: creates or replaces `object` (its namespace and name from
    /// its metadata), assigning uid/resourceVersion/creationTimestamp like a create, bumping
    /// resourceVersion and emitting watch events. Unlike the HTTP API it sets `status` too.
    /// Returns the stored object.
    ///
    /// Panics if the object is not a JSON object with `metadata.name` or `metadata.generateName`.
    pub fn put_object(&self, api_version: &str, plural: &str, object: Value) -> Value {
        let resource = Resource::new(api_version, plural);
        let (namespace, name) = store::namespace_and_name(&object);
        let result = self.shared.write(false, |store| {
            if !name.is_empty() && store.get(&resource, &namespace, &name).is_some() {
                let mut object = object;
                if let Some(metadata) = object["metadata"].as_object_mut() {
                    metadata.remove("resourceVersion");
                }
                store.update(&resource, &namespace, &name, object, Mode::Direct)
            } else {
                store.create(&resource, &namespace, object, Mode::Direct)
            }
        });
        result.unwrap_or_else(|e| panic!("fake-apiserver: put_object failed: {}", e.message))
    }

    /// Every stored object of that resource in `namespace` (None = all namespaces), sorted by name.
    pub fn list_objects(
        &self,
        api_version: &str,
        plural: &str,
        namespace: Option<&str>,
    ) -> Vec<Value> {
        let resource = Resource::new(api_version, plural);
        let mut objects = self
            .shared
            .read(|store| store.list(&resource, namespace, &selector::Selector::default()));
        objects.sort_by(|a, b| {
            let key = |o: &Value| {
                (
                    o["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    o["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            };
            key(a).cmp(&key(b))
        });
        objects
    }
}
