//! Every manifest shipped in `deploy/` is a valid Kubernetes object (checked offline against the
//! Kubernetes OpenAPI schemas by the PyPI package `kubernetes-validate`, which `tests/run.sh`
//! installs), and every riff CRD there has what `kubectl get` and the controller rely on.

use std::path::{Path, PathBuf};
use std::process::Command;

use riff_actors::resources::crds;
use serde::Deserialize;

/// The Kubernetes version of the k8s-openapi types (feature `v1_33`).
const KUBERNETES_VERSION: &str = "1.33.0";

fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy")
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

#[test]
fn deploy_manifests_match_the_kubernetes_schemas() {
    let files = yaml_files(&deploy_dir());
    assert!(!files.is_empty(), "no manifests under deploy/");
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
        .args(&files)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kubernetes-validate rejected manifests under deploy/:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_crd_has_status_category_riff_and_ready_reason_age() {
    let mut found = 0;
    for file in yaml_files(&deploy_dir()) {
        let text = std::fs::read_to_string(&file).unwrap();
        for document in serde_yaml::Deserializer::from_str(&text) {
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
