//! KafkaGateway / InMemoryGateway → Gateway → Service + Deployment (behaviours 12–19 of docs/riff-compatibility.md).

use std::time::Duration;

use serde_json::json;

use crate::support::{condition, eventually, stays, Cluster, STREAMING};
use riff_kubernetes::children::GATEWAY_LABEL;

const FRANZ: &str = "
apiVersion: streaming.projectriff.io/v1alpha1
kind: KafkaGateway
metadata: {name: franz, labels: {team: data}}
spec: {bootstrapServers: 'kafka.kafka:9092'}
";

// Behaviours 12–16 and 18 of docs/riff-compatibility.md.
#[actix_rt::test]
async fn kafka_gateway_becomes_ready_through_its_gateway_service_and_deployment() {
    let cluster = Cluster::start().await;
    cluster.apply(FRANZ);

    let gateway = eventually("Gateway franz", || {
        cluster.get(STREAMING, "gateways", "franz")
    })
    .await;
    assert_eq!(
        gateway["metadata"]["labels"],
        json!({"team": "data", "streaming.projectriff.io/kafka-gateway": "franz",
               "streaming.projectriff.io/gateway-type": "kafka"})
    );
    assert_eq!(
        gateway["spec"]["ports"],
        json!([{"name": "gateway", "port": 6565},
               {"name": "provisioner", "port": 80, "targetPort": 8080}])
    );
    let owner = &gateway["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].as_str(), owner["controller"].as_bool()),
        (Some("KafkaGateway"), Some(true))
    );

    let service = cluster.only("v1", "services", GATEWAY_LABEL, "franz").await;
    let service_name = service["metadata"]["name"].as_str().unwrap().to_owned();
    assert!(service_name.starts_with("franz-gateway-"), "{service_name}");
    assert_eq!(service["spec"]["selector"], json!({GATEWAY_LABEL: "franz"}));
    let address = format!("http://{service_name}.default.svc.cluster.local");
    cluster
        .condition("gateways", "franz", "ServiceReady", "True", None)
        .await;
    let gateway = cluster.get(STREAMING, "gateways", "franz").unwrap();
    assert_eq!(gateway["status"]["address"]["url"], address.as_str());

    let deployment = cluster
        .only("apps/v1", "deployments", GATEWAY_LABEL, "franz")
        .await;
    let name = deployment["metadata"]["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("franz-gateway-"), "{name}");
    // Behaviour 13 of docs/riff-compatibility.md: the Gateway gets its pod template, and so a Deployment, only once its
    // Service gave it an address.
    let requests = cluster.api.requests();
    let first = |method: &str, path: &str| {
        requests
            .iter()
            .position(|(m, p)| m == method && p.contains(path))
            .unwrap_or_else(|| panic!("no {method} {path}: {requests:?}"))
    };
    let created = first("POST", "/namespaces/default/gateways");
    let service = first("POST", "/namespaces/default/services");
    let templated = first("PUT", "/namespaces/default/gateways/franz?");
    let deployed = first("POST", "/namespaces/default/deployments");
    assert!(
        created < service && service < templated && templated < deployed,
        "{requests:?}"
    );
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "riff:gateway");
    assert_eq!(container["args"], json!(["gateway"]));
    assert_eq!(
        container["env"],
        json!([{"name": "storage_records_type", "value": "KAFKA"},
               {"name": "kafka_bootstrapServers", "value": "kafka.kafka:9092"},
               {"name": "GATEWAY", "value": format!("{service_name}.default.svc.cluster.local:6565")}])
    );

    cluster.set_deployment(&name, false);
    let progressing = cluster
        .condition(
            "gateways",
            "franz",
            "DeploymentReady",
            "Unknown",
            Some("ReplicaSetUpdated"),
        )
        .await;
    assert_eq!(
        progressing["message"],
        format!("ReplicaSet \"{name}-1\" is progressing.")
    );
    cluster
        .condition(
            "kafkagateways",
            "franz",
            "GatewayReady",
            "Unknown",
            Some("ReplicaSetUpdated"),
        )
        .await;

    cluster.set_deployment(&name, true);
    cluster
        .condition("gateways", "franz", "Ready", "True", None)
        .await;
    cluster
        .condition("kafkagateways", "franz", "Ready", "True", None)
        .await;
    let franz = cluster.get(STREAMING, "kafkagateways", "franz").unwrap();
    assert_eq!(franz["status"]["address"]["url"], address.as_str());
    assert_eq!(franz["status"]["gatewayImage"], "riff:gateway");
    assert_eq!(
        franz["status"]["gatewayRef"],
        json!({"apiGroup": "streaming.projectriff.io", "kind": "Gateway", "name": "franz"})
    );
    assert_eq!(franz["status"]["observedGeneration"], 1);
    cluster
        .event("KafkaGateway", "franz", |type_, reason, note| {
            (type_, reason, note) == ("Normal", "Created", "Created Gateway \"franz\"")
        })
        .await;
    cluster
        .event("Gateway", "franz", |_, reason, note| {
            reason == "Created" && note.contains(&service_name)
        })
        .await;
}

// Behaviours 16 and 19 of docs/riff-compatibility.md.
#[actix_rt::test]
async fn a_new_gateway_image_rolls_out_and_manual_scaling_is_kept() {
    let cluster = Cluster::start().await;
    cluster.apply(FRANZ);
    let deployment = cluster
        .only("apps/v1", "deployments", GATEWAY_LABEL, "franz")
        .await;
    let name = deployment["metadata"]["name"].as_str().unwrap().to_owned();
    cluster.edit("apps/v1", "deployments", &name, |d| {
        d["spec"]["replicas"] = json!(3)
    });
    stays(
        "the controller keeps 3 replicas",
        Duration::from_millis(500),
        || cluster.get("apps/v1", "deployments", &name).unwrap()["spec"]["replicas"] == 3,
    )
    .await;

    cluster.api.put_object(
        "v1",
        "configmaps",
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "riff-streaming-kafka-gateway", "namespace": "riff-system"},
               "data": {"gatewayImage": "riff:gateway-2"}}),
    );
    let rolled = eventually("the new image", || {
        let d = cluster.get("apps/v1", "deployments", &name)?;
        (d["spec"]["template"]["spec"]["containers"][0]["image"] == "riff:gateway-2").then_some(d)
    })
    .await;
    assert_eq!(rolled["spec"]["replicas"], 3);
    cluster
        .event("Gateway", "franz", |_, reason, note| {
            reason == "Updated" && note.contains(&name)
        })
        .await;
}

// Behaviour 17 of docs/riff-compatibility.md.
#[actix_rt::test]
async fn a_foreign_gateway_of_the_same_name_is_not_taken_over() {
    let cluster = Cluster::start().await;
    cluster.apply(
        "apiVersion: streaming.projectriff.io/v1alpha1\nkind: Gateway\n\
         metadata: {name: franz}\nspec: {ports: [{name: x, port: 1}]}\n",
    );
    cluster.apply(FRANZ);
    let not_owned = cluster
        .condition(
            "kafkagateways",
            "franz",
            "GatewayReady",
            "False",
            Some("NotOwned"),
        )
        .await;
    assert_eq!(
        not_owned["message"],
        "There is an existing Gateway \"franz\" that the KafkaGateway does not own."
    );
    let ready = condition(
        &cluster.get(STREAMING, "kafkagateways", "franz").unwrap(),
        "Ready",
    )
    .unwrap();
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("False"), Some("NotOwned"))
    );
    let gateway = cluster.get(STREAMING, "gateways", "franz").unwrap();
    assert_eq!(gateway["spec"]["ports"], json!([{"name": "x", "port": 1}]));
}

// Behaviours 12 and 15 of docs/riff-compatibility.md, in memory.
#[actix_rt::test]
async fn inmemory_gateway_runs_riff_gateway_in_memory() {
    let cluster = Cluster::start().await;
    cluster.apply("apiVersion: streaming.projectriff.io/v1alpha1\nkind: InMemoryGateway\nmetadata: {name: mem}\nspec: {}\n");
    let deployment = cluster
        .only("apps/v1", "deployments", GATEWAY_LABEL, "mem")
        .await;
    let gateway = cluster.get(STREAMING, "gateways", "mem").unwrap();
    assert_eq!(
        gateway["metadata"]["labels"]["streaming.projectriff.io/gateway-type"],
        "inmemory"
    );
    let env = &deployment["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(
        env[0],
        json!({"name": "storage_records_type", "value": "MEMORY"})
    );
    assert_eq!(env.as_array().unwrap().len(), 2, "{env}");
}
