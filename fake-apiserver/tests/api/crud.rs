use crate::api_code;
use fake_apiserver::FakeApiServer;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::collections::BTreeMap;

fn config_map(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "data": data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
    }))
    .unwrap()
}

fn data(cm: &ConfigMap) -> BTreeMap<String, String> {
    cm.data.clone().unwrap_or_default()
}

#[tokio::test]
async fn config_map_create_get_list_replace_patch_delete() {
    let server = FakeApiServer::start();
    let api: Api<ConfigMap> = Api::default_namespaced(server.client("team"));

    let created = api
        .create(&PostParams::default(), &config_map("a", &[("k", "v")]))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("team"));
    assert!(meta.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(meta.creation_timestamp.is_some());
    let rv1 = meta.resource_version.clone().unwrap();

    let fetched = api.get("a").await.unwrap();
    assert_eq!(data(&fetched), data(&created));
    assert_eq!(
        fetched.metadata.resource_version.as_deref(),
        Some(rv1.as_str())
    );

    api.create(&PostParams::default(), &config_map("b", &[]))
        .await
        .unwrap();
    let list = api.list(&ListParams::default()).await.unwrap();
    let names: Vec<_> = list
        .items
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert!(list.metadata.resource_version.is_some());

    let mut changed = fetched.clone();
    changed.data = Some([("k".to_string(), "v2".to_string())].into());
    let replaced = api
        .replace("a", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert_eq!(data(&replaced)["k"], "v2");
    assert_eq!(replaced.metadata.uid, created.metadata.uid);
    assert_ne!(
        replaced.metadata.resource_version.as_deref(),
        Some(rv1.as_str())
    );

    let merged = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"m": "1"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        data(&merged),
        [("k".into(), "v2".into()), ("m".into(), "1".into())].into()
    );

    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/data/m", "value": "2"},
        {"op": "remove", "path": "/data/k"}
    ]))
    .unwrap();
    let json_patched = api
        .patch("a", &PatchParams::default(), &Patch::<()>::Json(patch))
        .await
        .unwrap();
    assert_eq!(data(&json_patched), [("m".into(), "2".into())].into());

    let applied = api
        .patch(
            "a",
            &PatchParams::apply("test").force(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"x": "y"}})),
        )
        .await
        .unwrap();
    assert_eq!(data(&applied)["x"], "y");

    let deleted = api.delete("a", &Default::default()).await.unwrap();
    assert!(deleted.is_left());
    assert_eq!(api_code(api.get("a").await).0, 404);
    assert!(api.get_opt("a").await.unwrap().is_none());
    assert!(server.get_object("v1", "configmaps", "team", "a").is_none());
}

#[tokio::test]
async fn apply_creates_absent_objects() {
    let server = FakeApiServer::start();
    let api: Api<ConfigMap> = Api::namespaced(server.client("default"), "ns");
    let applied = api
        .patch(
            "new",
            &PatchParams::apply("test"),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new"}, "data": {"a": "b"}})),
        )
        .await
        .unwrap();
    assert_eq!(data(&applied)["a"], "b");
    assert_eq!(applied.metadata.generation, Some(1));
    assert_eq!(
        api_code(
            api.patch("absent", &PatchParams::default(), &Patch::Merge(json!({})))
                .await
        )
        .0,
        404
    );
}

#[tokio::test]
async fn already_exists_and_conflict_are_409() {
    let server = FakeApiServer::start();
    let api: Api<ConfigMap> = Api::default_namespaced(server.client("default"));
    let first = api
        .create(&PostParams::default(), &config_map("a", &[]))
        .await
        .unwrap();
    assert_eq!(
        api_code(
            api.create(&PostParams::default(), &config_map("a", &[]))
                .await
        ),
        (409, "AlreadyExists".to_string())
    );
    let mut changed = first.clone();
    changed.data = Some([("k".to_string(), "1".to_string())].into());
    api.replace("a", &PostParams::default(), &changed)
        .await
        .unwrap();
    let mut stale = first.clone();
    stale.data = Some([("k".to_string(), "v".to_string())].into());
    assert_eq!(
        api_code(api.replace("a", &PostParams::default(), &stale).await),
        (409, "Conflict".to_string())
    );
    assert_eq!(
        api_code(
            api.replace(
                "missing",
                &PostParams::default(),
                &config_map("missing", &[])
            )
            .await
        )
        .0,
        404
    );
}

#[tokio::test]
async fn generate_name_appends_five_characters() {
    let server = FakeApiServer::start();
    let api: Api<ConfigMap> = Api::default_namespaced(server.client("default"));
    let template: ConfigMap =
        serde_json::from_value(json!({"metadata": {"generateName": "job-"}})).unwrap();
    let a = api
        .create(&PostParams::default(), &template)
        .await
        .unwrap()
        .metadata
        .name
        .unwrap();
    let b = api
        .create(&PostParams::default(), &template)
        .await
        .unwrap()
        .metadata
        .name
        .unwrap();
    assert!(a.starts_with("job-") && a.len() == 9, "{a}");
    assert_ne!(a, b);
    let nameless: ConfigMap = serde_json::from_value(json!({"metadata": {}})).unwrap();
    assert_eq!(
        api_code(api.create(&PostParams::default(), &nameless).await),
        (422, "Invalid".into())
    );
}

fn deployment(replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "main", "image": "nginx"}]}
            }
        },
        "status": {"replicas": 99}
    }))
    .unwrap()
}

#[tokio::test]
async fn deployment_generation_and_status_subresource() {
    let server = FakeApiServer::start();
    let api: Api<Deployment> = Api::default_namespaced(server.client("default"));
    let created = api
        .create(&PostParams::default(), &deployment(1))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.status.is_none(), "status is dropped on create");

    let mut with_status = created.clone();
    with_status.status = Some(DeploymentStatus {
        replicas: Some(1),
        observed_generation: Some(1),
        ..Default::default()
    });
    let updated = api
        .replace_status("web", &PostParams::default(), &with_status)
        .await
        .unwrap();
    assert_eq!(updated.metadata.generation, Some(1));
    assert_eq!(updated.status.as_ref().unwrap().replicas, Some(1));

    let mut scaled = updated.clone();
    scaled.spec.as_mut().unwrap().replicas = Some(3);
    scaled.status.as_mut().unwrap().replicas = Some(42);
    let scaled = api
        .replace("web", &PostParams::default(), &scaled)
        .await
        .unwrap();
    assert_eq!(scaled.metadata.generation, Some(2));
    assert_eq!(scaled.spec.unwrap().replicas, Some(3));
    assert_eq!(
        scaled.status.unwrap().replicas,
        Some(1),
        "main PUT keeps the stored status"
    );

    let labelled = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}, "status": {"replicas": 7}})),
        )
        .await
        .unwrap();
    assert_eq!(
        labelled.metadata.generation,
        Some(2),
        "metadata changes keep the generation"
    );
    assert_eq!(labelled.status.unwrap().replicas, Some(1));

    let patched = api
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 3}, "spec": {"replicas": 9}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.status.unwrap().replicas, Some(3));
    assert_eq!(
        patched.spec.unwrap().replicas,
        Some(3),
        "status patches leave the spec"
    );
    assert_eq!(patched.metadata.generation, Some(2));
    assert_eq!(
        server
            .get_object("apps/v1", "deployments", "default", "web")
            .unwrap()["kind"],
        "Deployment"
    );
}

#[tokio::test]
async fn label_and_field_selectors() {
    let server = FakeApiServer::start();
    let api: Api<ConfigMap> = Api::default_namespaced(server.client("default"));
    for (name, labels) in [
        ("web", json!({"app": "web", "tier": "front"})),
        ("db", json!({"app": "db"})),
        ("plain", json!({})),
    ] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
    }
    let names = |selector: &'static str| {
        let api = api.clone();
        async move {
            let items = api
                .list(&ListParams::default().labels(selector))
                .await
                .unwrap()
                .items;
            items
                .into_iter()
                .map(|c| c.metadata.name.unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names("app=web").await, ["web"]);
    assert_eq!(names("app==db").await, ["db"]);
    assert_eq!(names("app!=web").await, ["db", "plain"]);
    assert_eq!(names("app").await, ["db", "web"]);
    assert_eq!(names("!tier").await, ["db", "plain"]);
    assert_eq!(names("app in (web,db),!tier").await, ["db"]);
    let by_field = api
        .list(&ListParams::default().fields("metadata.name=plain"))
        .await
        .unwrap();
    assert_eq!(by_field.items.len(), 1);
    let everywhere: Api<ConfigMap> = Api::all(server.client("default"));
    assert_eq!(
        everywhere
            .list(&ListParams::default().fields("metadata.namespace=other"))
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    assert_eq!(
        everywhere
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        3
    );
}

#[tokio::test]
async fn fail_next_fails_once_then_serves() {
    let server = FakeApiServer::start();
    let api: Api<ConfigMap> = Api::default_namespaced(server.client("default"));
    api.create(&PostParams::default(), &config_map("a", &[]))
        .await
        .unwrap();
    server.fail_next("GET", "/configmaps/a", 1, 500);
    assert_eq!(
        api_code(api.get("a").await),
        (500, "InternalError".to_string())
    );
    api.get("a").await.unwrap();
    let gets: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|(method, path)| {
            method == "GET" && path == "/api/v1/namespaces/default/configmaps/a"
        })
        .collect();
    assert_eq!(gets.len(), 2);
    assert_eq!(server.requests()[0].0, "POST");
}

#[test]
fn direct_access_without_a_runtime() {
    let server = FakeApiServer::start();
    let stored = server.put_object(
        "apps/v1",
        "deployments",
        json!({"metadata": {"name": "d", "namespace": "ns"}, "spec": {"replicas": 1}, "status": {"replicas": 1}}),
    );
    assert_eq!(stored["kind"], "Deployment");
    assert_eq!(stored["apiVersion"], "apps/v1");
    assert_eq!(stored["metadata"]["generation"], 1);
    assert_eq!(
        stored["status"]["replicas"], 1,
        "put_object keeps the status"
    );
    let mut changed = stored.clone();
    changed["spec"]["replicas"] = json!(2);
    let updated = server.put_object("apps/v1", "deployments", changed);
    assert_eq!(updated["metadata"]["generation"], 2);
    assert_eq!(updated["metadata"]["uid"], stored["metadata"]["uid"]);
    let rv = |v: &serde_json::Value| {
        v["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(rv(&updated) > rv(&stored));
    server.put_object(
        "apps/v1",
        "deployments",
        json!({"metadata": {"name": "a", "namespace": "other"}}),
    );
    let names: Vec<_> = server
        .list_objects("apps/v1", "deployments", None)
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["a", "d"]);
    assert_eq!(
        server
            .list_objects("apps/v1", "deployments", Some("ns"))
            .len(),
        1
    );

    let address = server.url().trim_start_matches("http://").to_string();
    assert!(std::net::TcpStream::connect(&address).is_ok());
    drop(server);
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "dropping the server stops it"
    );
}
