use fake_apiserver::FakeApiServer;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::CustomResource;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A tiny custom resource in an arbitrary group.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "example.com",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    schema = "disabled"
)]
pub struct WidgetSpec {
    size: u32,
}

/// Status of a [`Widget`].
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct WidgetStatus {
    ready: bool,
}

#[tokio::test]
async fn custom_resources_in_any_group() {
    let server = FakeApiServer::start();
    let client = server.client("default");
    let widgets: Api<Widget> = Api::default_namespaced(client.clone());
    let created = widgets
        .create(
            &PostParams::default(),
            &Widget::new("w", WidgetSpec { size: 3 }),
        )
        .await
        .unwrap();
    assert_eq!(created.spec.size, 3);
    assert_eq!(created.metadata.generation, Some(1));

    let ready = widgets
        .patch_status(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": true}})),
        )
        .await
        .unwrap();
    assert_eq!(ready.status, Some(WidgetStatus { ready: true }));
    assert_eq!(ready.metadata.generation, Some(1));

    let stored = server
        .get_object("example.com/v1", "widgets", "default", "w")
        .unwrap();
    assert_eq!(stored["kind"], "Widget");
    assert_eq!(stored["apiVersion"], "example.com/v1");
    assert_eq!(stored["status"]["ready"], true);

    let everywhere: Api<Widget> = Api::all(client);
    let list = everywhere.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(server
        .requests()
        .iter()
        .any(|(_, path)| path == "/apis/example.com/v1/widgets?"
            || path == "/apis/example.com/v1/widgets"));
}

#[tokio::test]
async fn recorder_events_are_created_then_patched_as_a_series() {
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};
    use kube::Resource;

    let server = FakeApiServer::start();
    let client = server.client("default");
    let widgets: Api<Widget> = Api::default_namespaced(client.clone());
    let widget = widgets
        .create(
            &PostParams::default(),
            &Widget::new("w", WidgetSpec { size: 1 }),
        )
        .await
        .unwrap();
    let recorder = Recorder::new(client, Reporter::from("widget-controller"));
    let event = Event {
        type_: EventType::Normal,
        reason: "Reconciled".into(),
        note: Some("all good".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    let reference = widget.object_ref(&());
    recorder.publish(&event, &reference).await.unwrap();
    recorder.publish(&event, &reference).await.unwrap();
    let stored = server.list_objects("events.k8s.io/v1", "events", Some("default"));
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["reason"], "Reconciled");
    assert_eq!(stored[0]["regarding"]["name"], "w");
    assert_eq!(stored[0]["series"]["count"], 2);
}
