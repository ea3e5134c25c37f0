use fake_apiserver::FakeApiServer;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher::{self, Event};
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc;

fn config_map(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap()
}

/// Runs a watcher in the background (so it is polled continuously, as in a controller) and
/// returns its events as short descriptions like `apply a None` or `init-done`.
fn spawn_watcher(api: Api<ConfigMap>, config: watcher::Config) -> mpsc::UnboundedReceiver<String> {
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut events = watcher::watcher(api, config).boxed();
        while let Some(event) = events.next().await {
            let name = |cm: &ConfigMap| cm.metadata.name.clone().unwrap();
            let description = match event {
                Ok(Event::Init) => "init".into(),
                Ok(Event::InitApply(cm)) => format!("init-apply {}", name(&cm)),
                Ok(Event::InitDone) => "init-done".into(),
                Ok(Event::Apply(cm)) => format!(
                    "apply {} {:?}",
                    name(&cm),
                    cm.data.unwrap_or_default().get("k")
                ),
                Ok(Event::Delete(cm)) => format!("delete {}", name(&cm)),
                Err(e) => format!("error {e}"),
            };
            if sender.send(description).is_err() {
                return;
            }
        }
    });
    receiver
}

async fn next(events: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("a watch event within 10 s")
        .expect("the watcher keeps running")
}

async fn create_modify_delete(api: &Api<ConfigMap>, name: &str) {
    api.create(
        &PostParams::default(),
        &config_map(name, json!({"app": "x"})),
    )
    .await
    .unwrap();
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .unwrap();
    api.delete(name, &Default::default()).await.unwrap();
}

#[tokio::test]
async fn watcher_sees_existing_create_modify_delete_in_order() {
    let server = FakeApiServer::start();
    let api: Api<ConfigMap> = Api::default_namespaced(server.client("default"));
    api.create(&PostParams::default(), &config_map("existing", json!({})))
        .await
        .unwrap();
    let mut events = spawn_watcher(api.clone(), watcher::Config::default());
    assert_eq!(next(&mut events).await, "init");
    assert_eq!(next(&mut events).await, "init-apply existing");
    assert_eq!(next(&mut events).await, "init-done");
    create_modify_delete(&api, "b").await;
    assert_eq!(next(&mut events).await, "apply b None");
    assert_eq!(next(&mut events).await, "apply b Some(\"v\")");
    assert_eq!(next(&mut events).await, "delete b");
    let watches = server
        .requests()
        .into_iter()
        .filter(|(_, path)| path.contains("watch=true"))
        .count();
    assert_eq!(watches, 1);
}

#[tokio::test]
async fn watcher_with_streaming_lists_and_selectors() {
    let server = FakeApiServer::start();
    let api: Api<ConfigMap> = Api::default_namespaced(server.client("default"));
    api.create(
        &PostParams::default(),
        &config_map("selected", json!({"app": "x"})),
    )
    .await
    .unwrap();
    api.create(
        &PostParams::default(),
        &config_map("other", json!({"app": "y"})),
    )
    .await
    .unwrap();
    let config = watcher::Config::default().streaming_lists().labels("app=x");
    let mut events = spawn_watcher(api.clone(), config);
    assert_eq!(next(&mut events).await, "init");
    assert_eq!(next(&mut events).await, "init-apply selected");
    assert_eq!(next(&mut events).await, "init-done");
    // Leaving the selection is seen as a delete, entering it as an apply.
    api.patch(
        "selected",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "z"}}})),
    )
    .await
    .unwrap();
    assert_eq!(next(&mut events).await, "delete selected");
    api.patch(
        "other",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "x"}}})),
    )
    .await
    .unwrap();
    assert_eq!(next(&mut events).await, "apply other None");
}

#[tokio::test]
async fn watcher_resumes_after_the_server_ends_the_watch() {
    let server = FakeApiServer::start();
    let api: Api<ConfigMap> = Api::default_namespaced(server.client("default"));
    let mut events = spawn_watcher(api.clone(), watcher::Config::default().timeout(1));
    assert_eq!(next(&mut events).await, "init");
    assert_eq!(next(&mut events).await, "init-done");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    create_modify_delete(&api, "late").await;
    assert_eq!(next(&mut events).await, "apply late None");
    assert_eq!(next(&mut events).await, "apply late Some(\"v\")");
    assert_eq!(next(&mut events).await, "delete late");
    let watches: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|(_, path)| path.contains("watch=true"))
        .collect();
    assert!(watches.len() >= 2, "the watcher re-watched: {watches:?}");
    assert!(watches[1].1.contains("resourceVersion="), "{watches:?}");
}
