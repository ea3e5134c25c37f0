//! An in-memory Kubernetes API (fake-apiserver) with a kubeconfig whose namespace is `default`,
//! and the `riff streaming ...` runs a user makes against it: shared by the CLI's tests and the
//! controller's.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use fake_apiserver::FakeApiServer;
use riff_actors::resources::API_VERSION;
use serde_json::{json, Value};

use crate::support::{eventually, riff};
use riff_testkit::Child;

/// What a user sees of one `riff` run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// An in-memory cluster and a kubeconfig whose namespace is `default`.
pub struct Cluster {
    pub api: FakeApiServer,
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// An empty cluster.
    pub fn start() -> Cluster {
        let api = FakeApiServer::start();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        api.write_kubeconfig(&kubeconfig, "default").unwrap();
        Cluster {
            api,
            kubeconfig,
            _dir: dir,
        }
    }

    /// `riff streaming <args>` against the cluster.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(riff());
        command
            .arg("streaming")
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .stdin(Stdio::null());
        command
    }

    /// `riff streaming <args>`, to completion.
    pub fn riff(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `riff streaming <args>`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.riff(args);
        assert_eq!(run.code, 0, "riff streaming {args:?}: {run:?}");
        run.stdout
    }

    /// `riff streaming <args>` in the background.
    pub fn spawn(&self, args: &[&str]) -> Background {
        let child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Background {
            child: child.into(),
        }
    }

    /// Object `plural/name` of `default` of this API group.
    pub fn object(&self, plural: &str, name: &str) -> Option<Value> {
        self.api.get_object(API_VERSION, plural, "default", name)
    }

    /// Waits until `riff` created `plural/name` in `default`.
    pub fn created(&self, plural: &str, name: &str) -> Value {
        let what = format!("riff to create {plural}/{name}");
        eventually(what, Duration::from_secs(10), || self.object(plural, name))
    }

    /// Stores `plural` object `name` of namespace `namespace` with `spec`, labels and `status`.
    pub fn put(&self, plural: &str, namespace: &str, name: &str, kind: &str, body: Value) {
        let mut object = json!({
            "apiVersion": API_VERSION,
            "kind": kind,
            "metadata": {"name": name, "namespace": namespace},
        });
        for (key, value) in body.as_object().unwrap() {
            object[key] = value.clone();
        }
        self.api.put_object(API_VERSION, plural, object);
    }

    /// Sets the Ready condition of an existing object.
    pub fn set_ready(&self, plural: &str, name: &str, status: &str, reason: &str, message: &str) {
        let mut object = self.object(plural, name).unwrap();
        object["status"] = json!({"conditions": [
            {"type": "Ready", "status": status, "reason": reason, "message": message}
        ]});
        self.api.put_object(API_VERSION, plural, object);
    }

    /// The paths POSTed to so far.
    pub fn posts(&self) -> Vec<String> {
        let requests = self.api.requests();
        requests
            .into_iter()
            .filter(|(method, _)| method == "POST")
            .map(|(_, path)| path)
            .collect()
    }
}

/// A `riff` running in the background, killed when dropped.
pub struct Background {
    child: Child,
}

impl Background {
    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        self.child.running()
    }

    /// Ctrl-C.
    pub fn interrupt(&mut self) {
        self.child.interrupt();
    }

    /// Waits for the exit, at most `timeout`; what the user saw.
    pub fn finish(mut self, timeout: Duration) -> Run {
        if self.child.exits_within(timeout).is_none() {
            self.child.kill();
            let run = self.collect();
            panic!("riff did not exit within {timeout:?}: {run:?}");
        }
        self.collect()
    }

    fn collect(&mut self) -> Run {
        let code = self.child.wait().unwrap().code().unwrap_or(-1);
        let mut stdout = String::new();
        let mut stderr = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        Run {
            code,
            stdout,
            stderr,
        }
    }
}
