//! Processor → Deployment (function + sidecar) → KEDA ScaledObject (behaviours 30–40 of docs/riff-compatibility.md), and
//! what happens to bad or incomplete processors.

use std::time::Duration;

use kube::api::DeleteParams;
use kube::Api;
use riff_actors::processor::health::{Stalled, STATUS_PORT, STATUS_PORT_NAME};
use riff_actors::processor::Health;
use riff_actors::resources::Processor;
use serde_json::{json, Value};

use crate::streams::make_gateway_ready;
use crate::support::{eventually, stays, Cluster, GATEWAY_ADDRESS, STREAMING};
use riff_kubernetes::children::PROCESSOR_LABEL;

/// An in-memory gateway `franz` and ready streams `names` on it.
async fn ready_streams(cluster: &Cluster, names: &[&str]) {
    cluster.apply("apiVersion: streaming.projectriff.io/v1alpha1\nkind: InMemoryGateway\nmetadata: {name: franz}\nspec: {}\n");
    for name in names {
        cluster.apply(&format!(
            "apiVersion: streaming.projectriff.io/v1alpha1\nkind: Stream\nmetadata: {{name: {name}}}\n\
             spec: {{gateway: {{name: franz}}, contentType: application/json}}\n"
        ));
    }
    make_gateway_ready(cluster, "franz").await;
    for name in names {
        cluster
            .condition("streams", name, "Ready", "True", None)
            .await;
    }
}

const P: &str = "
apiVersion: streaming.projectriff.io/v1alpha1
kind: Processor
metadata: {name: p, labels: {app: a}}
spec:
  inputs: [{stream: in, alias: a, startOffset: earliest}, {stream: in}]
  outputs: [{stream: out}]
  template: {spec: {containers: [{image: 'fn:1', env: [{name: K, value: v}]}]}}
";

fn uid(cluster: &Cluster, stream: &str) -> String {
    cluster.get(STREAMING, "streams", stream).unwrap()["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned()
}

// Behaviours 33, 34, 35 and 37 of docs/riff-compatibility.md.
#[actix_rt::test]
async fn a_processor_runs_its_function_beside_the_sidecar_scaled_by_keda() {
    let cluster = Cluster::start().await;
    ready_streams(&cluster, &["in", "out"]).await;
    cluster.apply(P);
    let deployment = cluster
        .only("apps/v1", "deployments", PROCESSOR_LABEL, "p")
        .await;
    let name = deployment["metadata"]["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("p-processor-"), "{name}");
    assert_eq!(
        deployment["metadata"]["labels"],
        json!({"app": "a", PROCESSOR_LABEL: "p"})
    );
    assert_eq!(deployment["spec"]["replicas"], 1);
    let pod = &deployment["spec"]["template"]["spec"];
    let function = &pod["containers"][0];
    assert_eq!(
        (function["name"].as_str(), function["image"].as_str()),
        (Some("function"), Some("fn:1"))
    );
    assert_eq!(function["ports"], json!([{"containerPort": 8081}]));
    assert_eq!(function["env"], json!([{"name": "K", "value": "v"}]));
    let sidecar = &pod["containers"][1];
    assert_eq!(sidecar["name"], "processor");
    assert_eq!(sidecar["image"], "riff:processor");
    assert_eq!(sidecar["args"], json!(["processor"]));
    let env: Vec<(&str, &str)> = sidecar["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        env,
        [
            ("CNB_BINDINGS", "/var/riff/bindings"),
            ("INPUT_START_OFFSETS", "earliest,latest"),
            ("INPUT_NAMES", "a,in"),
            ("OUTPUT_NAMES", "out"),
            ("GROUP", "p"),
            ("FUNCTION", "localhost:8081"),
            ("POD_NAMESPACE", "default"),
        ]
    );
    let (input, output) = (uid(&cluster, "in"), uid(&cluster, "out"));
    let mounts: Vec<(&str, &str)> = sidecar["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap(),
                m["mountPath"].as_str().unwrap(),
            )
        })
        .collect();
    let (in_metadata, in_secret) = (
        format!("stream-{input}-metadata"),
        format!("stream-{input}-secret"),
    );
    let (out_metadata, out_secret) = (
        format!("stream-{output}-metadata"),
        format!("stream-{output}-secret"),
    );
    assert_eq!(
        mounts,
        [
            (
                in_metadata.as_str(),
                "/var/riff/bindings/input_000/metadata"
            ),
            (in_secret.as_str(), "/var/riff/bindings/input_000/secret"),
            (
                in_metadata.as_str(),
                "/var/riff/bindings/input_001/metadata"
            ),
            (in_secret.as_str(), "/var/riff/bindings/input_001/secret"),
            (
                out_metadata.as_str(),
                "/var/riff/bindings/output_000/metadata"
            ),
            (out_secret.as_str(), "/var/riff/bindings/output_000/secret"),
        ]
    );
    let mut volumes: Vec<&str> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        volumes.len(),
        4,
        "one pair per distinct stream: {volumes:?}"
    );
    let listed = volumes.clone();
    volumes.sort_unstable();
    assert_eq!(listed, volumes, "volumes are sorted by name");

    let scaled = cluster
        .only("keda.sh/v1alpha1", "scaledobjects", PROCESSOR_LABEL, "p")
        .await;
    assert!(scaled["metadata"]["name"]
        .as_str()
        .unwrap()
        .starts_with("p-processor-"));
    let trigger = json!({"type": "liiklus",
        "metadata": {"address": GATEWAY_ADDRESS, "group": "p", "topic": "default/in"}});
    assert_eq!(
        scaled["spec"],
        json!({"scaleTargetRef": {"name": name}, "pollingInterval": 1, "cooldownPeriod": 30,
               "minReplicaCount": 1, "maxReplicaCount": 30, "triggers": [trigger.clone(), trigger]})
    );

    cluster.set_deployment(&name, true);
    cluster
        .condition("processors", "p", "Ready", "True", None)
        .await;
    let status = &cluster.get(STREAMING, "processors", "p").unwrap()["status"];
    assert_eq!(status["latestImage"], "fn:1");
    assert_eq!(
        status["deploymentRef"],
        json!({"kind": "Deployment", "name": name})
    );
    assert_eq!(status["scaledObjectRef"]["apiGroup"], "keda.sh");
}

// Behaviour 32 of docs/riff-compatibility.md, recovered: a missing stream keeps the processor not Ready until it appears.
#[actix_rt::test]
async fn a_missing_stream_keeps_the_processor_not_ready_until_it_appears() {
    let cluster = Cluster::start().await;
    ready_streams(&cluster, &["in"]).await;
    cluster.apply(P);
    let missing = cluster
        .condition(
            "processors",
            "p",
            "StreamsReady",
            "False",
            Some("StreamNotFound"),
        )
        .await;
    assert_eq!(missing["message"], "stream out not found");
    cluster
        .condition("processors", "p", "Ready", "False", Some("StreamNotFound"))
        .await;
    assert!(cluster
        .list("apps/v1", "deployments")
        .iter()
        .all(|d| d["metadata"]["labels"][PROCESSOR_LABEL].is_null()));

    cluster.apply("apiVersion: streaming.projectriff.io/v1alpha1\nkind: Stream\nmetadata: {name: out}\nspec: {gateway: {name: franz}}\n");
    cluster
        .only("apps/v1", "deployments", PROCESSOR_LABEL, "p")
        .await;
    cluster
        .condition("processors", "p", "StreamsReady", "True", None)
        .await;
}

// Behaviour 36 of docs/riff-compatibility.md (without riff's maxReplicaCount 0, which contradicted minReplicaCount 1).
#[actix_rt::test]
async fn a_stream_that_is_not_ready_is_reported_with_its_reason() {
    let cluster = Cluster::start().await;
    cluster.apply("apiVersion: streaming.projectriff.io/v1alpha1\nkind: Stream\nmetadata: {name: in}\nspec: {gateway: {name: nope}}\n");
    cluster.apply(
        "apiVersion: streaming.projectriff.io/v1alpha1\nkind: Processor\nmetadata: {name: p}\n\
         spec: {inputs: [{stream: in}], template: {spec: {containers: [{image: 'fn:1'}]}}}\n",
    );
    // The stream's own reason reaches the processor once the stream has been reconciled.
    cluster
        .condition_saying(
            "processors",
            "p",
            "StreamsReady",
            "False",
            Some("StreamNotReady"),
            "stream in is not ready: Gateway \"nope\" not found",
        )
        .await;
    // The Deployment is built even so; KEDA waits for the binding.
    cluster
        .only("apps/v1", "deployments", PROCESSOR_LABEL, "p")
        .await;
    assert!(cluster.list("keda.sh/v1alpha1", "scaledobjects").is_empty());
}

// Behaviours 30 and 31 of docs/riff-compatibility.md.
#[actix_rt::test]
async fn a_function_ref_follows_the_functions_latest_image() {
    let cluster = Cluster::start().await;
    ready_streams(&cluster, &["in"]).await;
    cluster.apply(
        "apiVersion: streaming.projectriff.io/v1alpha1\nkind: Processor\nmetadata: {name: p}\n\
         spec: {build: {functionRef: square}, inputs: [{stream: in}]}\n",
    );
    let missing = cluster
        .condition(
            "processors",
            "p",
            "DeploymentReady",
            "False",
            Some("FunctionNotFound"),
        )
        .await;
    assert_eq!(missing["message"], "Function \"square\" not found");

    let function = |status: Value| {
        json!({"apiVersion": "build.projectriff.io/v1alpha1", "kind": "Function",
               "metadata": {"name": "square", "namespace": "default"}, "spec": {}, "status": status})
    };
    cluster.api.put_object(
        "build.projectriff.io/v1alpha1",
        "functions",
        function(json!({})),
    );
    cluster
        .condition(
            "processors",
            "p",
            "DeploymentReady",
            "Unknown",
            Some("LatestImageMissing"),
        )
        .await;
    assert!(cluster
        .list("apps/v1", "deployments")
        .iter()
        .all(|d| d["metadata"]["labels"][PROCESSOR_LABEL].is_null()));

    for image in ["square@sha256:1", "square@sha256:2"] {
        cluster.api.put_object(
            "build.projectriff.io/v1alpha1",
            "functions",
            function(json!({"latestImage": image})),
        );
        eventually(image, || {
            let deployment = cluster
                .list("apps/v1", "deployments")
                .into_iter()
                .find(|d| d["metadata"]["labels"][PROCESSOR_LABEL] == "p")?;
            (deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image)
                .then_some(())
        })
        .await;
    }
}

// Behaviour 39 of docs/riff-compatibility.md, and updates only when something differs.
#[actix_rt::test]
async fn scaled_replicas_are_kept_and_unchanged_children_are_not_rewritten() {
    let cluster = Cluster::start().await;
    ready_streams(&cluster, &["in", "out"]).await;
    cluster.apply(P);
    let deployment = cluster
        .only("apps/v1", "deployments", PROCESSOR_LABEL, "p")
        .await;
    let name = deployment["metadata"]["name"].as_str().unwrap().to_owned();
    cluster
        .only("keda.sh/v1alpha1", "scaledobjects", PROCESSOR_LABEL, "p")
        .await;
    cluster.set_deployment(&name, true);
    cluster
        .condition("processors", "p", "Ready", "True", None)
        .await;

    let writes = || {
        cluster.count_requests("PUT", "/deployments/")
            + cluster.count_requests("PUT", "/scaledobjects/")
    };
    let (before, reads) = (writes(), cluster.count_requests("GET", "/processors/p"));
    cluster.edit(STREAMING, "processors", "p", |p| {
        p["metadata"]["annotations"] = json!({"touched": "yes"})
    });
    eventually("a reconcile pass", || {
        (cluster.count_requests("GET", "/processors/p") > reads).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        writes(),
        before,
        "an unchanged Deployment or ScaledObject was rewritten"
    );

    cluster.edit("apps/v1", "deployments", &name, |d| {
        d["spec"]["replicas"] = json!(4)
    });
    cluster.edit(STREAMING, "processors", "p", |p| {
        p["spec"]["template"]["spec"]["containers"][0]["env"] =
            json!([{"name": "K", "value": "w"}]);
    });
    let updated = eventually("the new env", || {
        let d = cluster.get("apps/v1", "deployments", &name)?;
        (d["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "w").then_some(d)
    })
    .await;
    assert_eq!(updated["spec"]["replicas"], 4);
}

// Behaviour 40 of docs/riff-compatibility.md.
#[actix_rt::test]
async fn deleting_a_processor_deletes_its_deployment_and_scaled_object() {
    let cluster = Cluster::start().await;
    ready_streams(&cluster, &["in", "out"]).await;
    cluster.apply(P);
    cluster
        .only("keda.sh/v1alpha1", "scaledobjects", PROCESSOR_LABEL, "p")
        .await;
    Api::<Processor>::namespaced(cluster.client.clone(), "default")
        .delete("p", &DeleteParams::default())
        .await
        .unwrap();
    eventually("children deleted", || {
        let gone = cluster.list("keda.sh/v1alpha1", "scaledobjects").is_empty()
            && cluster
                .list("apps/v1", "deployments")
                .iter()
                .all(|d| d["metadata"]["labels"][PROCESSOR_LABEL].is_null());
        gone.then_some(())
    })
    .await;
    stays("nothing is recreated", Duration::from_millis(300), || {
        cluster.list("keda.sh/v1alpha1", "scaledobjects").is_empty()
    })
    .await;
}

// Bad input: reported in the status and an Event, with the field path; fixed, it recovers.
#[actix_rt::test]
async fn an_invalid_processor_is_reported_with_the_field_path_and_recovers_when_fixed() {
    let cluster = Cluster::start().await;
    ready_streams(&cluster, &["in", "out"]).await;
    cluster.apply(&P.replace("startOffset: earliest", "startOffset: middle"));
    let invalid = cluster
        .condition("processors", "p", "Ready", "False", Some("Invalid"))
        .await;
    let message = invalid["message"].as_str().unwrap();
    assert!(message.contains("spec.inputs[0].startOffset"), "{message}");
    cluster
        .event("Processor", "p", |type_, reason, note| {
            type_ == "Warning" && reason == "Invalid" && note == message
        })
        .await;
    let processor = cluster.get(STREAMING, "processors", "p").unwrap();
    assert_eq!(
        processor["spec"]["inputs"][0]["startOffset"], "middle",
        "the controller never rewrites specs"
    );
    assert!(cluster
        .list("apps/v1", "deployments")
        .iter()
        .all(|d| d["metadata"]["labels"][PROCESSOR_LABEL].is_null()));

    cluster.edit(STREAMING, "processors", "p", |p| {
        p["spec"]["inputs"][0]["startOffset"] = json!("earliest")
    });
    cluster
        .only("apps/v1", "deployments", PROCESSOR_LABEL, "p")
        .await;
    cluster
        .condition("processors", "p", "StreamsReady", "True", None)
        .await;
}

// A Kafka-backed input scales on Kafka itself, never beyond its partitions.
#[actix_rt::test]
async fn a_kafka_input_gets_a_kafka_trigger_bounded_by_its_partitions() {
    let cluster = Cluster::start().await;
    cluster.apply(
        "apiVersion: streaming.projectriff.io/v1alpha1\nkind: KafkaGateway\nmetadata: {name: franz}\n\
         spec: {bootstrapServers: 'kafka.kafka:9092'}\n---\n\
         apiVersion: streaming.projectriff.io/v1alpha1\nkind: Stream\nmetadata: {name: in}\n\
         spec: {gateway: {name: franz}, partitions: 3}\n---\n\
         apiVersion: streaming.projectriff.io/v1alpha1\nkind: Processor\nmetadata: {name: p}\n\
         spec: {inputs: [{stream: in}], template: {spec: {containers: [{image: 'fn:1'}]}}}\n",
    );
    make_gateway_ready(&cluster, "franz").await;
    let scaled = cluster
        .only("keda.sh/v1alpha1", "scaledobjects", PROCESSOR_LABEL, "p")
        .await;
    assert_eq!(scaled["spec"]["maxReplicaCount"], 3);
    assert_eq!(
        scaled["spec"]["triggers"],
        json!([{"type": "kafka", "metadata": {"bootstrapServers": "kafka.kafka:9092",
            "consumerGroup": "p", "topic": "default/in", "lagThreshold": "10"}}])
    );
}

// Behaviour 38 of docs/riff-compatibility.md: without an input's binding Secret there is no ScaledObject; it comes back with
// the Secret.
#[actix_rt::test]
async fn a_missing_input_binding_secret_removes_the_scaled_object_until_it_is_back() {
    let cluster = Cluster::start().await;
    ready_streams(&cluster, &["in", "out"]).await;
    cluster.apply(P);
    cluster
        .only("keda.sh/v1alpha1", "scaledobjects", PROCESSOR_LABEL, "p")
        .await;
    // The gateway goes down, so the stream cannot provision (and rebind) meanwhile.
    let gateway = cluster
        .only(
            "apps/v1",
            "deployments",
            "streaming.projectriff.io/gateway",
            "franz",
        )
        .await;
    let gateway = gateway["metadata"]["name"].as_str().unwrap().to_owned();
    cluster.set_deployment(&gateway, false);
    cluster
        .condition(
            "streams",
            "in",
            "ResourceAvailable",
            "False",
            Some("ProvisionFailed"),
        )
        .await;

    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(cluster.client.clone(), "default")
        .delete("in-stream-binding-secret", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the ScaledObject deleted", || {
        cluster
            .list("keda.sh/v1alpha1", "scaledobjects")
            .is_empty()
            .then_some(())
    })
    .await;
    cluster
        .event("Processor", "p", |_, reason, note| {
            reason == "Deleted" && note.starts_with("Deleted ScaledObject")
        })
        .await;

    cluster.set_deployment(&gateway, true);
    cluster
        .only("keda.sh/v1alpha1", "scaledobjects", PROCESSOR_LABEL, "p")
        .await;
    assert!(cluster
        .get("v1", "secrets", "in-stream-binding-secret")
        .is_some());
}

/// A processor whose pods' sidecars report, at `GET /status`, a record reading stopped at is
/// `Ready=False` with reason `DeliveryFailed`, naming the record; it is Ready again once the
/// record went through. Asked again every few seconds: nothing else changes meanwhile.
#[actix_rt::test]
async fn a_pod_stopped_at_a_record_that_failed_every_attempt_makes_the_processor_not_ready() {
    let cluster = Cluster::start().await;
    ready_streams(&cluster, &["in", "out"]).await;
    cluster.apply(&P.replace("  template:", "  delivery: {maxAttempts: 3}\n  template:"));
    let deployment = cluster
        .only("apps/v1", "deployments", PROCESSOR_LABEL, "p")
        .await;
    let sidecar = &deployment["spec"]["template"]["spec"]["containers"][1];
    assert_eq!(
        sidecar["ports"],
        json!([{"name": STATUS_PORT_NAME, "containerPort": STATUS_PORT}])
    );
    cluster.set_deployment(deployment["metadata"]["name"].as_str().unwrap(), true);
    cluster
        .condition("processors", "p", "Ready", "True", None)
        .await;

    // A pod of the processor whose sidecar stopped at a record (the sidecar's own endpoint).
    let health = Health::default();
    let address = health.serve("127.0.0.1:0").await.unwrap();
    cluster.apply(&format!(
        "apiVersion: v1
kind: Pod
metadata: {{name: p-processor-1, labels: {{{PROCESSOR_LABEL}: p}}}}
spec:
  containers:
  - {{name: function, image: 'fn:1'}}
  - {{name: processor, image: 'riff:processor', ports: [{{name: {STATUS_PORT_NAME}, containerPort: {}}}]}}
status: {{phase: Running, podIP: 127.0.0.1}}
",
        address.port()
    ));
    health.set(Some(Stalled {
        topic: "default_in".into(),
        partition: 2,
        offset: 41,
        attempts: 3,
        error: "function returned Unknown: boom".into(),
    }));
    let ready = cluster
        .condition("processors", "p", "Ready", "False", Some("DeliveryFailed"))
        .await;
    assert_eq!(
        ready["message"],
        "pod p-processor-1: the record at offset 41 of partition 2 of default_in failed 3 \
         attempts and there is no dead-letter stream; reading stopped there: function returned \
         Unknown: boom"
    );
    health.set(None);
    cluster
        .condition("processors", "p", "Ready", "True", None)
        .await;
}

#[actix_rt::test]
async fn a_dead_letter_stream_that_does_not_exist_is_reported_by_name() {
    let cluster = Cluster::start().await;
    ready_streams(&cluster, &["in", "out"]).await;
    cluster.apply(&P.replace(
        "  template:",
        "  delivery: {deadLetter: {stream: nowhere}}\n  template:",
    ));
    cluster
        .condition_saying(
            "processors",
            "p",
            "Ready",
            "False",
            Some("StreamNotFound"),
            "stream nowhere not found",
        )
        .await;
}
