use fake_apiserver::FakeApiServer;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

#[tokio::test]
async fn a_written_kubeconfig_builds_a_working_client() {
    let server = FakeApiServer::start();
    server.put_object(
        "v1",
        "configmaps",
        json!({"metadata": {"name": "mine", "namespace": "team"}}),
    );
    server.put_object(
        "v1",
        "configmaps",
        json!({"metadata": {"name": "theirs", "namespace": "other"}}),
    );
    let path = std::env::temp_dir().join(format!(
        "fake-apiserver-{}.kubeconfig",
        uuid::Uuid::new_v4()
    ));
    server.write_kubeconfig(&path, "team").unwrap();

    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    assert_eq!(config.default_namespace, "team");
    assert_eq!(
        config.cluster_url.to_string().trim_end_matches('/'),
        server.url()
    );
    let client = kube::Client::try_from(config).unwrap();
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let names: Vec<_> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.metadata.name.unwrap())
        .collect();
    assert_eq!(names, ["mine"]);
}
