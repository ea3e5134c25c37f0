//! Raw HTTP requests, for what kube-rs clients never send.

use fake_apiserver::FakeApiServer;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use serde_json::{json, Value};
use std::io::{Read, Write};

/// Sends one HTTP/1.1 request and returns the status code and the JSON body.
fn request(
    server: &FakeApiServer,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    let address = server.url().trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (code, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn malformed_input_gets_status_errors() {
    let server = FakeApiServer::start();
    let (code, status) = request(
        &server,
        "POST",
        "/api/v1/namespaces/ns/configmaps",
        "application/json",
        "{bad",
    );
    assert_eq!(code, 400);
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "BadRequest");
    assert_eq!(status["code"], 400);

    let (code, _) = request(
        &server,
        "POST",
        "/api/v1/namespaces/ns/configmaps",
        "application/json",
        r#"{"metadata":{"name":"a"}}"#,
    );
    assert_eq!(code, 201);
    let (code, status) = request(
        &server,
        "GET",
        "/api/v1/namespaces/ns/configmaps/a/exec",
        "",
        "",
    );
    assert_eq!((code, status["reason"].as_str()), (404, Some("NotFound")));
    let (code, status) = request(
        &server,
        "PATCH",
        "/api/v1/namespaces/ns/configmaps/a",
        "text/plain",
        "{}",
    );
    assert_eq!((code, status["code"].as_u64()), (415, Some(415)));
    let (code, _) = request(
        &server,
        "PATCH",
        "/api/v1/namespaces/ns/configmaps/a",
        "application/json-patch+json",
        "{}",
    );
    assert_eq!(code, 400);
    let (code, status) = request(&server, "GET", "/api/v1/namespaces/ns/configmaps/b", "", "");
    assert_eq!(code, 404);
    assert_eq!(status["message"], "configmaps \"b\" not found");
    assert_eq!(
        status["details"],
        json!({"name": "b", "kind": "configmaps"})
    );
    let (code, list) = request(&server, "GET", "/api/v1/namespaces/ns/configmaps", "", "");
    assert_eq!(code, 200);
    assert_eq!(list["kind"], "ConfigMapList");
    assert_eq!(list["items"][0]["metadata"]["name"], "a");
    let (code, _) = request(
        &server,
        "GET",
        "/api/v1/namespaces/ns/configmaps?labelSelector=a%20in%20b",
        "",
        "",
    );
    assert_eq!(code, 400);
}

#[tokio::test]
async fn namespaces_are_cluster_scoped() {
    let server = FakeApiServer::start();
    let namespaces: Api<Namespace> = Api::all(server.client("default"));
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap();
    let created = namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    assert_eq!(created.metadata.namespace, None);
    assert!(namespaces.get("team").await.is_ok());
    assert!(server.get_object("v1", "namespaces", "", "team").is_some());
}
