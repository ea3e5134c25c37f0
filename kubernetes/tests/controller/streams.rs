//! Stream → provisioning → binding ConfigMap and Secret (behaviours 20–22 and 26–29 of docs/riff-compatibility.md).

use std::time::Duration;

use fake_apiserver::FakeApiServer;
use k8s_openapi::api::core::v1::Secret;
use kube::api::DeleteParams;
use kube::Api;
use riff_actors::resources::Stream;
use serde_json::json;

use crate::support::{eventually, Cluster, Provisioners, GATEWAY_ADDRESS, STREAMING};

const IN: &str = "
apiVersion: streaming.projectriff.io/v1alpha1
kind: Stream
metadata: {name: in}
spec: {gateway: {name: franz}, contentType: application/json}
";

const MEMORY_FRANZ: &str =
    "apiVersion: streaming.projectriff.io/v1alpha1\nkind: InMemoryGateway\nmetadata: {name: franz}\nspec: {}\n";

/// Makes the gateway `name`'s Deployment available, once it exists.
pub async fn make_gateway_ready(cluster: &Cluster, name: &str) {
    let deployment = cluster
        .only(
            "apps/v1",
            "deployments",
            "streaming.projectriff.io/gateway",
            name,
        )
        .await;
    cluster.set_deployment(deployment["metadata"]["name"].as_str().unwrap(), true);
    cluster
        .condition("gateways", name, "Ready", "True", None)
        .await;
}

/// The decoded value of `key` in a Secret.
pub fn decoded(secret: &serde_json::Value, key: &str) -> Option<String> {
    let secret: Secret = serde_json::from_value(secret.clone()).ok()?;
    String::from_utf8(secret.data?.get(key)?.0.clone()).ok()
}

// Behaviours 20, 21, 22 and 27 of docs/riff-compatibility.md.
#[actix_rt::test]
async fn a_stream_waits_for_its_gateway_then_provisions_and_binds() {
    let cluster = Cluster::start().await;
    cluster.apply(IN);
    let missing = cluster
        .condition(
            "streams",
            "in",
            "ResourceAvailable",
            "False",
            Some("ProvisionFailed"),
        )
        .await;
    assert_eq!(missing["message"], "Gateway \"franz\" not found");
    cluster
        .condition("streams", "in", "Ready", "False", Some("ProvisionFailed"))
        .await;
    let stored = cluster.get(STREAMING, "streams", "in").unwrap();
    assert_eq!(stored["spec"]["contentType"], "application/json");

    cluster.apply(MEMORY_FRANZ);
    eventually("Gateway \"franz\" not ready", || {
        let stream = cluster.get(STREAMING, "streams", "in")?;
        let available = crate::support::condition(&stream, "ResourceAvailable")?;
        (available["message"] == "Gateway \"franz\" not ready").then_some(())
    })
    .await;
    assert!(cluster
        .get("v1", "configmaps", "in-stream-binding-metadata")
        .is_none());

    make_gateway_ready(&cluster, "franz").await;
    cluster
        .condition("streams", "in", "Ready", "True", None)
        .await;
    cluster
        .condition("streams", "in", "BindingReady", "True", None)
        .await;
    let metadata = cluster
        .get("v1", "configmaps", "in-stream-binding-metadata")
        .unwrap();
    assert_eq!(
        metadata["data"],
        json!({"kind": "Stream.streaming.projectriff.io", "provider": "riff Streaming",
               "tags": "", "stream": "in", "contentType": "application/json"})
    );
    assert_eq!(
        metadata["metadata"]["labels"]["streaming.projectriff.io/stream"],
        "in"
    );
    let secret = cluster
        .get("v1", "secrets", "in-stream-binding-secret")
        .unwrap();
    assert_eq!(
        decoded(&secret, "gateway").as_deref(),
        Some(GATEWAY_ADDRESS)
    );
    assert_eq!(decoded(&secret, "topic").as_deref(), Some("default/in"));
    assert_eq!(decoded(&secret, "bootstrapServers"), None);
    let stream = cluster.get(STREAMING, "streams", "in").unwrap();
    assert_eq!(
        stream["status"]["binding"],
        json!({"metadataRef": {"name": "in-stream-binding-metadata"},
               "secretRef": {"name": "in-stream-binding-secret"}})
    );
}

// The Secret of a Kafka-backed stream lets processors reach Kafka directly.
#[actix_rt::test]
async fn a_kafka_stream_binding_carries_the_bootstrap_servers() {
    let cluster = Cluster::start().await;
    cluster.apply(
        "apiVersion: streaming.projectriff.io/v1alpha1\nkind: KafkaGateway\nmetadata: {name: franz}\n\
         spec: {bootstrapServers: 'kafka.kafka:9092'}\n",
    );
    cluster.apply(IN);
    make_gateway_ready(&cluster, "franz").await;
    cluster
        .condition("streams", "in", "Ready", "True", None)
        .await;
    let secret = cluster
        .get("v1", "secrets", "in-stream-binding-secret")
        .unwrap();
    assert_eq!(
        decoded(&secret, "bootstrapServers").as_deref(),
        Some("kafka.kafka:9092")
    );
}

// Behaviour 26 of docs/riff-compatibility.md: what answers on the gateway's address is not a provisioner.
#[actix_rt::test]
async fn a_provisioner_error_is_reported_and_retried_with_backoff() {
    let impostor = FakeApiServer::start();
    let address = impostor
        .url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let cluster = Cluster::start_with(Provisioners::At(address)).await;
    cluster.apply(MEMORY_FRANZ);
    cluster.apply(IN);
    make_gateway_ready(&cluster, "franz").await;
    // "Gateway not ready" shares the reason; the provisioner's answer follows once it is ready.
    let failed = cluster
        .condition_saying(
            "streams",
            "in",
            "ResourceAvailable",
            "False",
            Some("ProvisionFailed"),
            "status: 404, body: \"",
        )
        .await;
    let message = failed["message"].as_str().unwrap();
    cluster
        .event("Stream", "in", |type_, reason, note| {
            type_ == "Warning" && reason == "ReconcileFailed" && note == message
        })
        .await;
    eventually("a retried PUT", || {
        let puts = impostor
            .requests()
            .iter()
            .filter(|(m, p)| m == "PUT" && p == "/default/in")
            .count();
        (puts >= 3).then_some(())
    })
    .await;
}

// Behaviour 28 of docs/riff-compatibility.md.
#[actix_rt::test]
async fn a_foreign_binding_config_map_fails_the_binding() {
    let cluster = Cluster::start().await;
    cluster.api.put_object(
        "v1",
        "configmaps",
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "in-stream-binding-metadata", "namespace": "default"},
               "data": {"mine": "yes"}}),
    );
    cluster.apply(MEMORY_FRANZ);
    cluster.apply(IN);
    make_gateway_ready(&cluster, "franz").await;
    let failed = cluster
        .condition(
            "streams",
            "in",
            "BindingReady",
            "False",
            Some("BindingFailed"),
        )
        .await;
    assert_eq!(
        failed["message"],
        "binding metadata \"in-stream-binding-metadata\" already exists"
    );
    cluster
        .condition("streams", "in", "Ready", "False", Some("BindingFailed"))
        .await;
    let foreign = cluster
        .get("v1", "configmaps", "in-stream-binding-metadata")
        .unwrap();
    assert_eq!(foreign["data"], json!({"mine": "yes"}));
}

// Behaviour 29 of docs/riff-compatibility.md.
#[actix_rt::test]
async fn deleting_a_stream_deletes_its_bindings() {
    let cluster = Cluster::start().await;
    cluster.apply(MEMORY_FRANZ);
    cluster.apply(IN);
    make_gateway_ready(&cluster, "franz").await;
    cluster
        .condition("streams", "in", "Ready", "True", None)
        .await;
    Api::<Stream>::namespaced(cluster.client.clone(), "default")
        .delete("in", &DeleteParams::default())
        .await
        .unwrap();
    eventually("bindings deleted", || {
        let gone = cluster
            .get("v1", "configmaps", "in-stream-binding-metadata")
            .is_none()
            && cluster
                .get("v1", "secrets", "in-stream-binding-secret")
                .is_none();
        gone.then_some(())
    })
    .await;
    let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), "default");
    assert!(secrets
        .get_opt("in-stream-binding-secret")
        .await
        .unwrap()
        .is_none());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        cluster
            .get("v1", "secrets", "in-stream-binding-secret")
            .is_none(),
        "recreated"
    );
}
