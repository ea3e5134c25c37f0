//! Each kind through its whole life on the riff docs' example (KafkaGateway franz, streams in
//! and out, processor time-averager): created before its dependencies are ready, ready once they
//! are, updated, deleted. And a failing API call is retried, never fatal.

use kube::api::DeleteParams;
use kube::Api;
use riff_actors::resources::{KafkaGateway, Processor, Stream};
use serde_json::json;

use crate::streams::make_gateway_ready;
use crate::support::{eventually, Cluster, STREAMING};
use riff_kubernetes::children::PROCESSOR_LABEL;

const DOCS_EXAMPLE: &str = "
apiVersion: streaming.projectriff.io/v1alpha1
kind: Processor
metadata: {name: time-averager}
spec:
  inputs: [{stream: in}]
  outputs: [{stream: out}]
  template: {spec: {containers: [{image: 'ghcr.io/riff-streaming/time-averager:1'}]}}
---
apiVersion: streaming.projectriff.io/v1alpha1
kind: Stream
metadata: {name: in}
spec: {gateway: {name: franz}, contentType: application/json}
---
apiVersion: streaming.projectriff.io/v1alpha1
kind: Stream
metadata: {name: out}
spec: {gateway: {name: franz}, contentType: application/json}
---
apiVersion: streaming.projectriff.io/v1alpha1
kind: KafkaGateway
metadata: {name: franz}
spec: {bootstrapServers: 'kafka.kafka:9092'}
";

#[actix_rt::test]
async fn every_kind_lives_from_creation_through_readiness_and_updates_to_deletion() {
    let cluster = Cluster::start().await;
    // Created in reverse dependency order: each waits for the next.
    cluster.apply(DOCS_EXAMPLE);
    cluster
        .condition("streams", "in", "Ready", "False", Some("ProvisionFailed"))
        .await;
    cluster
        .condition(
            "processors",
            "time-averager",
            "StreamsReady",
            "False",
            Some("StreamNotReady"),
        )
        .await;
    cluster
        .condition("kafkagateways", "franz", "Ready", "Unknown", None)
        .await;

    make_gateway_ready(&cluster, "franz").await;
    cluster
        .condition("kafkagateways", "franz", "Ready", "True", None)
        .await;
    cluster
        .condition("streams", "in", "Ready", "True", None)
        .await;
    cluster
        .condition("streams", "out", "Ready", "True", None)
        .await;
    cluster
        .condition("processors", "time-averager", "StreamsReady", "True", None)
        .await;
    let deployment = cluster
        .only("apps/v1", "deployments", PROCESSOR_LABEL, "time-averager")
        .await;
    let name = deployment["metadata"]["name"].as_str().unwrap().to_owned();
    cluster
        .only(
            "keda.sh/v1alpha1",
            "scaledobjects",
            PROCESSOR_LABEL,
            "time-averager",
        )
        .await;
    cluster.set_deployment(&name, true);
    cluster
        .condition("processors", "time-averager", "Ready", "True", None)
        .await;

    // Updates: a new function image, a new Kafka cluster.
    cluster.edit(STREAMING, "processors", "time-averager", |p| {
        p["spec"]["template"]["spec"]["containers"][0]["image"] =
            json!("ghcr.io/riff-streaming/time-averager:2");
    });
    eventually("the new function image", || {
        let d = cluster.get("apps/v1", "deployments", &name)?;
        (d["spec"]["template"]["spec"]["containers"][0]["image"]
            == "ghcr.io/riff-streaming/time-averager:2")
            .then_some(())
    })
    .await;
    eventually("observedGeneration 2", || {
        let p = cluster.get(STREAMING, "processors", "time-averager")?;
        (p["status"]["observedGeneration"] == 2).then_some(())
    })
    .await;
    cluster.edit(STREAMING, "kafkagateways", "franz", |g| {
        g["spec"]["bootstrapServers"] = json!("kafka-2.kafka:9092");
    });
    eventually("the gateway on the new cluster", || {
        let gateway = cluster.get(STREAMING, "gateways", "franz")?;
        let env = &gateway["spec"]["template"]["spec"]["containers"][0]["env"];
        (env[1]["value"] == "kafka-2.kafka:9092").then_some(())
    })
    .await;

    // Deletions: children go with their parents.
    let client = cluster.client.clone();
    Api::<Processor>::namespaced(client.clone(), "default")
        .delete("time-averager", &DeleteParams::default())
        .await
        .unwrap();
    Api::<Stream>::namespaced(client.clone(), "default")
        .delete_collection(&DeleteParams::default(), &Default::default())
        .await
        .unwrap();
    Api::<KafkaGateway>::namespaced(client, "default")
        .delete("franz", &DeleteParams::default())
        .await
        .unwrap();
    eventually("everything deleted", || {
        let left: Vec<String> = [
            (STREAMING, "gateways"),
            ("apps/v1", "deployments"),
            ("v1", "services"),
            ("keda.sh/v1alpha1", "scaledobjects"),
            ("v1", "secrets"),
        ]
        .iter()
        .flat_map(|(version, plural)| cluster.list(version, plural))
        .map(|o| o["metadata"]["name"].to_string())
        .collect();
        left.is_empty().then_some(())
    })
    .await;
}

#[actix_rt::test]
async fn a_failing_api_call_is_retried_with_backoff_and_recorded() {
    let cluster = Cluster::start().await;
    cluster.api.fail_next("POST", "/services", 2, 500);
    cluster.apply("apiVersion: streaming.projectriff.io/v1alpha1\nkind: InMemoryGateway\nmetadata: {name: franz}\nspec: {}\n");
    make_gateway_ready(&cluster, "franz").await;
    cluster
        .event("Gateway", "franz", |type_, reason, _| {
            type_ == "Warning" && reason == "CreationFailed"
        })
        .await;
    assert!(cluster.count_requests("POST", "/services") >= 3);
}

// Bad configuration: a missing image ConfigMap is an Event on the resource (and a log line),
// retried with backoff; the resource recovers once the ConfigMap is there.
#[actix_rt::test]
async fn a_missing_image_config_map_is_reported_and_recovered_from() {
    let cluster = Cluster::start().await;
    let images = cluster
        .api
        .get_object(
            "v1",
            "configmaps",
            "riff-system",
            "riff-streaming-inmemory-gateway",
        )
        .unwrap();
    Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(cluster.client.clone(), "riff-system")
        .delete("riff-streaming-inmemory-gateway", &DeleteParams::default())
        .await
        .unwrap();
    cluster.apply("apiVersion: streaming.projectriff.io/v1alpha1\nkind: InMemoryGateway\nmetadata: {name: franz}\nspec: {}\n");
    cluster
        .event("InMemoryGateway", "franz", |type_, reason, note| {
            (type_, reason, note)
                == (
                    "Warning",
                    "ReconcileFailed",
                    "ConfigMap riff-system/riff-streaming-inmemory-gateway not found",
                )
        })
        .await;
    assert!(cluster.get(STREAMING, "gateways", "franz").is_none());

    let mut images = images;
    images["metadata"] =
        json!({"name": "riff-streaming-inmemory-gateway", "namespace": "riff-system"});
    cluster.api.put_object("v1", "configmaps", images);
    eventually("the Gateway", || {
        cluster.get(STREAMING, "gateways", "franz")
    })
    .await;
}
