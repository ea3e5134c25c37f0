//! Fixtures shared by the manifest tests.

use std::fs;
use std::path::PathBuf;

use super::load;

pub(super) const DOCS_EXAMPLE: &str = r#"apiVersion: streaming.projectriff.io/v1alpha1
kind: InMemoryGateway
metadata: {name: franz}
spec: {}
---
apiVersion: streaming.projectriff.io/v1alpha1
kind: Stream
metadata: {name: in}
spec: {gateway: {name: franz}, contentType: application/json}
---
apiVersion: streaming.projectriff.io/v1alpha1
kind: Processor
metadata: {name: time-averager}
spec:
  inputs: [{stream: in}]
  outputs: [{stream: out}]
  window: {duration: 10s}
  template:
    spec:
      containers:
      - image: ghcr.io/example/time-averager
        command: [time-averager]
        env: [{name: AVERAGE_OVER, value: 2s}]
"#;

pub(super) const OUT_STREAM: &str = "apiVersion: streaming.projectriff.io/v1alpha1\nkind: Stream\nmetadata: {name: out}\nspec: {gateway: {name: franz}}\n";

pub(super) struct Dir(pub(super) tempfile::TempDir);

impl Dir {
    pub(super) fn new(files: &[(&str, &str)]) -> Self {
        let dir = Dir(tempfile::tempdir().unwrap());
        for (name, text) in files {
            let path = dir.path(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Loads `names` and returns the error text with the temp dir's path shortened to `dir`.
    pub(super) fn error(&self, names: &[&str]) -> String {
        let paths: Vec<_> = names.iter().map(|n| self.path(n)).collect();
        let err = load(&paths).unwrap_err().to_string();
        err.replace(&self.0.path().display().to_string(), "dir")
    }
}

pub(super) fn processor_yaml(spec: &str) -> String {
    format!("apiVersion: streaming.projectriff.io/v1alpha1\nkind: Processor\nmetadata: {{name: p}}\nspec:\n{spec}")
}
