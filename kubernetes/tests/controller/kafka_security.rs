//! A KafkaGateway with SASL and TLS (issue 14): the controller hands its pods references and
//! mounts, never values; a missing Secret key is reported on the gateway and recovers once the
//! key exists; the processor's Kafka trigger authenticates through a TriggerAuthentication.

use serde_json::{json, Value};

use crate::streams::{decoded, make_gateway_ready};
use crate::support::{eventually, Cluster, STREAMING};
use riff_kubernetes::children::{GATEWAY_LABEL, PROCESSOR_LABEL};

const PASSWORD: &str = "s3cret-value-4b2d";
const CA: &str = "-----BEGIN CERTIFICATE----- ca-value-81f0";

const SECURED: &str = "apiVersion: streaming.projectriff.io/v1alpha1
kind: KafkaGateway
metadata: {name: franz}
spec:
  bootstrapServers: 'kafka.kafka:9093'
  tls: {caCert: {name: kafka-ca, key: ca.crt}}
  sasl:
    mechanism: SCRAM-SHA-512
    user: {name: kafka-creds, key: user}
    password: {name: kafka-creds, key: password}
---
apiVersion: streaming.projectriff.io/v1alpha1
kind: Stream
metadata: {name: in}
spec: {gateway: {name: franz}, partitions: 2}
---
apiVersion: streaming.projectriff.io/v1alpha1
kind: Processor
metadata: {name: p}
spec: {inputs: [{stream: in}], template: {spec: {containers: [{image: 'fn:1'}]}}}
";

/// Every object the controller wrote in `default`, but the Secrets.
fn written(cluster: &Cluster) -> Vec<Value> {
    let kinds = [
        (STREAMING, "kafkagateways"),
        (STREAMING, "gateways"),
        (STREAMING, "streams"),
        (STREAMING, "processors"),
        ("apps/v1", "deployments"),
        ("v1", "services"),
        ("v1", "configmaps"),
        ("keda.sh/v1alpha1", "scaledobjects"),
        ("keda.sh/v1alpha1", "triggerauthentications"),
    ];
    (kinds.iter())
        .flat_map(|(api_version, plural)| cluster.list(api_version, plural))
        .collect()
}

#[actix_rt::test]
async fn a_secured_kafka_gateway_mounts_its_secrets_and_names_the_one_missing() {
    let cluster = Cluster::start().await;
    cluster.apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: kafka-creds}}\nstringData: {{user: alice}}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {{name: kafka-ca}}\nstringData: {{ca.crt: '{CA}'}}\n---\n{SECURED}"
    ));
    let message = r#"Secret "kafka-creds" has no key "password""#;
    cluster
        .condition_saying(
            "kafkagateways",
            "franz",
            "GatewayReady",
            "False",
            Some("SecretKeyNotFound"),
            message,
        )
        .await;

    cluster.apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: kafka-creds}}\n\
         stringData: {{user: alice, password: {PASSWORD}}}\n"
    ));
    make_gateway_ready(&cluster, "franz").await;
    cluster
        .condition("kafkagateways", "franz", "Ready", "True", None)
        .await;

    // The gateway's pod: the references as JSON, the two Secrets mounted where riff reads them.
    let deployment = cluster
        .only("apps/v1", "deployments", GATEWAY_LABEL, "franz")
        .await;
    let pod = &deployment["spec"]["template"]["spec"];
    let env = &pod["containers"][0]["env"];
    let security = (env.as_array().unwrap().iter())
        .find(|var| var["name"] == "kafka_security")
        .expect("kafka_security");
    let refs: Value = serde_json::from_str(security["value"].as_str().unwrap()).unwrap();
    assert_eq!(
        refs["sasl"]["password"],
        json!({"name": "kafka-creds", "key": "password"})
    );
    assert_eq!(
        pod["volumes"],
        json!([{"name": "kafka-secret-0", "secret": {"secretName": "kafka-ca",
                    "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
               {"name": "kafka-secret-1", "secret": {"secretName": "kafka-creds",
                    "items": [{"key": "password", "path": "password"},
                              {"key": "user", "path": "user"}]}}])
    );
    assert_eq!(
        pod["containers"][0]["volumeMounts"],
        json!([{"name": "kafka-secret-0", "mountPath": "/var/riff/kafka-secrets/kafka-ca", "readOnly": true},
               {"name": "kafka-secret-1", "mountPath": "/var/riff/kafka-secrets/kafka-creds", "readOnly": true}])
    );

    // The stream's binding carries the references; the processor's sidecar mounts the Secrets.
    let binding = eventually("the binding Secret of in", || {
        cluster.get("v1", "secrets", "in-stream-binding-secret")
    })
    .await;
    let bound: Value = serde_json::from_str(&decoded(&binding, "kafkaSecurity").unwrap()).unwrap();
    assert_eq!(bound, refs);
    let wanted = [
        "/var/riff/kafka-secrets/kafka-ca",
        "/var/riff/kafka-secrets/kafka-creds",
    ];
    eventually("the sidecar mounting the Kafka Secrets", || {
        let mut deployments = cluster.list("apps/v1", "deployments").into_iter();
        let processor = deployments.find(|d| d["metadata"]["labels"][PROCESSOR_LABEL] == "p")?;
        let sidecar = &processor["spec"]["template"]["spec"]["containers"][1];
        let mounts: Vec<String> = (sidecar["volumeMounts"].as_array()?.iter())
            .filter_map(|mount| mount["mountPath"].as_str())
            .filter(|path| path.starts_with("/var/riff/kafka-secrets/"))
            .map(str::to_owned)
            .collect();
        (mounts == wanted).then_some(())
    })
    .await;

    // KEDA reads the lag with the same credentials, through a TriggerAuthentication.
    let authentication = cluster
        .only(
            "keda.sh/v1alpha1",
            "triggerauthentications",
            PROCESSOR_LABEL,
            "p",
        )
        .await;
    assert_eq!(
        authentication["spec"]["secretTargetRef"],
        json!([{"parameter": "username", "name": "kafka-creds", "key": "user"},
               {"parameter": "password", "name": "kafka-creds", "key": "password"},
               {"parameter": "ca", "name": "kafka-ca", "key": "ca.crt"}])
    );
    let scaled = cluster
        .only("keda.sh/v1alpha1", "scaledobjects", PROCESSOR_LABEL, "p")
        .await;
    let trigger = &scaled["spec"]["triggers"][0];
    assert_eq!(trigger["metadata"]["sasl"], "scram_sha512");
    assert_eq!(trigger["metadata"]["tls"], "enable");
    assert_eq!(
        trigger["authenticationRef"]["name"],
        authentication["metadata"]["name"]
    );

    for object in written(&cluster) {
        let text = object.to_string();
        for value in [PASSWORD, CA, "alice"] {
            assert!(!text.contains(value), "{value:?} written into {text}");
        }
    }
}
