use crate::api_code;
use fake_apiserver::FakeApiServer;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn owned_by(name: &str, owners: &[&ConfigMap]) -> Secret {
    let references: Vec<_> = owners
        .iter()
        .map(|o| {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "name": o.metadata.name, "uid": o.metadata.uid})
        })
        .collect();
    serde_json::from_value(json!({"metadata": {"name": name, "ownerReferences": references}}))
        .unwrap()
}

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}})).unwrap()
}

/// A fresh API server with ConfigMaps as owners and Secrets as their dependents.
struct Owners {
    _server: FakeApiServer,
    config_maps: Api<ConfigMap>,
    secrets: Api<Secret>,
}

impl Owners {
    fn start() -> Owners {
        let server = FakeApiServer::start();
        let client = server.client("default");
        Owners {
            config_maps: Api::default_namespaced(client.clone()),
            secrets: Api::default_namespaced(client),
            _server: server,
        }
    }

    /// Creates ConfigMap `name`.
    async fn owner(&self, name: &str) -> ConfigMap {
        let params = PostParams::default();
        self.config_maps
            .create(&params, &config_map(name))
            .await
            .unwrap()
    }

    /// Creates Secret `name`, owned by `owners`.
    async fn dependent(&self, name: &str, owners: &[&ConfigMap]) {
        let params = PostParams::default();
        self.secrets
            .create(&params, &owned_by(name, owners))
            .await
            .unwrap();
    }

    async fn delete_owner(&self, name: &str) {
        let params = DeleteParams::default();
        self.config_maps.delete(name, &params).await.unwrap();
    }
}

// As Kubernetes' garbage collector: a dependent created once its owner is gone (a controller's
// pass still running when its resource was deleted) is collected too.
#[tokio::test]
async fn a_dependent_created_after_its_owner_was_deleted_is_collected() {
    let scene = Owners::start();
    let parent = scene.owner("parent").await;
    scene.delete_owner("parent").await;
    scene.dependent("late", &[&parent]).await;
    assert!(scene.secrets.get_opt("late").await.unwrap().is_none());
}

#[tokio::test]
async fn deleting_an_owner_garbage_collects_its_dependents() {
    let scene = Owners::start();
    let (config_maps, secrets) = (&scene.config_maps, &scene.secrets);
    let parent = scene.owner("parent").await;
    let other = scene.owner("other").await;
    scene.dependent("child", &[&parent]).await;
    scene.dependent("shared", &[&parent, &other]).await;
    // A grandchild: a ConfigMap owned by the child Secret.
    let child_uid = secrets.get("child").await.unwrap().metadata.uid.unwrap();
    let grandchild: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "grandchild",
        "ownerReferences": [{"apiVersion": "v1", "kind": "Secret", "name": "child", "uid": child_uid}]}}))
    .unwrap();
    config_maps
        .create(&PostParams::default(), &grandchild)
        .await
        .unwrap();

    scene.delete_owner("parent").await;
    assert!(secrets.get_opt("child").await.unwrap().is_none());
    assert!(config_maps.get_opt("grandchild").await.unwrap().is_none());
    assert!(
        secrets.get_opt("shared").await.unwrap().is_some(),
        "a dependent with a live owner stays"
    );

    scene.delete_owner("other").await;
    assert!(secrets.get_opt("shared").await.unwrap().is_none());
}

#[tokio::test]
async fn finalizers_delay_deletion_until_removed() {
    let server = FakeApiServer::start();
    let api: Api<ConfigMap> = Api::default_namespaced(server.client("default"));
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "f", "finalizers": ["example.com/cleanup"]}}),
    )
    .unwrap();
    api.create(&PostParams::default(), &cm).await.unwrap();
    let marked = api
        .delete("f", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .unwrap();
    assert!(marked.metadata.deletion_timestamp.is_some());
    let still_there = api.get("f").await.unwrap();
    assert!(still_there.metadata.deletion_timestamp.is_some());
    // Deleting again changes nothing.
    let again = api
        .delete("f", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .unwrap();
    assert_eq!(
        again.metadata.resource_version,
        still_there.metadata.resource_version
    );

    api.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert_eq!(api_code(api.get("f").await).0, 404);
}

#[tokio::test]
async fn delete_collection_with_a_label_selector() {
    let server = FakeApiServer::start();
    let api: Api<ConfigMap> = Api::default_namespaced(server.client("default"));
    for (name, app) in [("a", "x"), ("b", "x"), ("c", "y")] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": app}}}))
                .unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
    }
    let deleted = api
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("app=x"),
        )
        .await
        .unwrap()
        .left()
        .unwrap();
    let mut names: Vec<_> = deleted
        .items
        .into_iter()
        .map(|c| c.metadata.name.unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "b"]);
    let left: Vec<_> = api.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].metadata.name.as_deref(), Some("c"));
}
