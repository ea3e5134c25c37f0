use fake_apiserver::FakeApiServer;
use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use serde_json::json;
use std::time::Duration;

fn put_pod(server: &FakeApiServer) {
    server.put_object(
        "v1",
        "pods",
        json!({"metadata": {"name": "p", "namespace": "ns"},
               "spec": {"containers": [{"name": "main"}, {"name": "sidecar"}]}}),
    );
}

#[tokio::test]
async fn logs_per_container() {
    let server = FakeApiServer::start();
    put_pod(&server);
    server.append_pod_log("ns", "p", "main", "one\n");
    server.append_pod_log("ns", "p", "sidecar", "side\n");
    server.append_pod_log("ns", "p", "main", "two\n");
    let pods: Api<Pod> = Api::namespaced(server.client("default"), "ns");
    let main = LogParams {
        container: Some("main".into()),
        ..LogParams::default()
    };
    assert_eq!(pods.logs("p", &main).await.unwrap(), "one\ntwo\n");
    let tail = LogParams {
        tail_lines: Some(1),
        ..main.clone()
    };
    assert_eq!(pods.logs("p", &tail).await.unwrap(), "two\n");
    let sidecar = LogParams {
        container: Some("sidecar".into()),
        ..LogParams::default()
    };
    assert_eq!(pods.logs("p", &sidecar).await.unwrap(), "side\n");
    let none = LogParams {
        container: Some("none".into()),
        ..LogParams::default()
    };
    assert_eq!(pods.logs("p", &none).await.unwrap(), "");
    assert_eq!(
        pods.logs("p", &LogParams::default()).await.unwrap(),
        "one\ntwo\n",
        "defaults to the first container"
    );
    assert!(pods.logs("missing", &main).await.is_err());
}

#[tokio::test]
async fn followed_logs_stream_later_appends_until_the_pod_is_deleted() {
    let server = FakeApiServer::start();
    put_pod(&server);
    server.append_pod_log("ns", "p", "main", "before\n");
    let pods: Api<Pod> = Api::namespaced(server.client("default"), "ns");
    let params = LogParams {
        container: Some("main".into()),
        follow: true,
        ..LogParams::default()
    };
    let mut lines = pods.log_stream("p", &params).await.unwrap().lines().boxed();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(10), lines.next())
            .await
            .expect("a log line or the end within 10 s")
            .map(|line| line.unwrap())
    };
    assert_eq!(next().await.as_deref(), Some("before"));
    server.append_pod_log("ns", "p", "sidecar", "not this container\n");
    server.append_pod_log("ns", "p", "main", "after\n");
    assert_eq!(next().await.as_deref(), Some("after"));
    pods.delete("p", &Default::default()).await.unwrap();
    assert_eq!(
        next().await,
        None,
        "the stream ends when the pod is deleted"
    );
}
