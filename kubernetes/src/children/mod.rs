//! The desired children of each kind (docs/riff-compatibility.md §2.2–2.5): pure functions from a parent, and
//! what the reconciler looked up for it, to the objects it should own.
//!
//! The reconciler adds the controller owner reference, keeps a generated name once the child
//! exists, and compares labels plus spec (or data) to decide whether to update.

pub mod gateway;
pub mod processor;
pub mod scaled_object;
pub mod stream;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, KeyToPath, SecretVolumeSource, Volume, VolumeMount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use riff_actors::broker::kafka::MOUNTED_SECRETS;
use riff_actors::resources::SecretKeyRef;

/// Labels a gateway's Service, Deployment and pods with the Gateway's name.
pub const GATEWAY_LABEL: &str = "streaming.projectriff.io/gateway";
/// Labels a Gateway with its backend: `kafka` or `inmemory`.
pub const GATEWAY_TYPE_LABEL: &str = "streaming.projectriff.io/gateway-type";
/// Labels a Gateway with the name of the KafkaGateway that made it.
pub const KAFKA_GATEWAY_LABEL: &str = "streaming.projectriff.io/kafka-gateway";
/// Labels a Gateway with the name of the InMemoryGateway that made it.
pub const INMEMORY_GATEWAY_LABEL: &str = "streaming.projectriff.io/inmemory-gateway";
/// Labels a stream's binding ConfigMap and Secret with the Stream's name.
pub const STREAM_LABEL: &str = "streaming.projectriff.io/stream";
/// Labels a processor's Deployment, pods and ScaledObject with the Processor's name.
pub const PROCESSOR_LABEL: &str = "streaming.projectriff.io/processor";

/// The parent's labels plus `extra` (which win).
fn labels(parent: &ObjectMeta, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut labels = parent.labels.clone().unwrap_or_default();
    for (key, value) in extra {
        labels.insert((*key).to_owned(), (*value).to_owned());
    }
    labels
}

/// Metadata of a child in the parent's namespace; the caller sets its name or generated name.
fn child_metadata(parent: &ObjectMeta, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        namespace: parent.namespace.clone(),
        labels: Some(labels),
        ..ObjectMeta::default()
    }
}

/// An environment variable with a literal value.
/// The volumes of the Secrets a KafkaGateway's `tls` and `sasl` reference, each holding only
/// the referenced keys (a missing key holds the pod before it starts, rather than crashing it),
/// and their read-only mounts at `/var/riff/kafka-secrets/<secret>`, where `riff gateway` and
/// `riff processor` read them. `refs` in any order.
fn kafka_secret_volumes<'a>(
    refs: impl IntoIterator<Item = &'a SecretKeyRef>,
) -> (Vec<Volume>, Vec<VolumeMount>) {
    let mut keys: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for reference in refs {
        let secret = keys.entry(&reference.name).or_default();
        if !secret.contains(&reference.key.as_str()) {
            secret.push(&reference.key);
        }
    }
    keys.into_iter()
        .enumerate()
        .map(|(index, (secret, mut keys))| {
            keys.sort_unstable();
            let volume = format!("kafka-secret-{index}");
            let mount = VolumeMount {
                name: volume.clone(),
                mount_path: format!("{MOUNTED_SECRETS}/{secret}"),
                read_only: Some(true),
                ..VolumeMount::default()
            };
            let items = keys.into_iter().map(|key| KeyToPath {
                key: key.to_owned(),
                path: key.to_owned(),
                ..KeyToPath::default()
            });
            let volume = Volume {
                name: volume,
                secret: Some(SecretVolumeSource {
                    secret_name: Some(secret.to_owned()),
                    items: Some(items.collect()),
                    ..SecretVolumeSource::default()
                }),
                ..Volume::default()
            };
            (volume, mount)
        })
        .unzip()
}

fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.into()),
        ..EnvVar::default()
    }
}

/// The annotations by which Prometheus' pod discovery scrapes `GET /metrics` on `port`.
fn scrape_annotations(port: impl ToString) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("prometheus.io/scrape".to_owned(), "true".to_owned()),
        ("prometheus.io/port".to_owned(), port.to_string()),
        ("prometheus.io/path".to_owned(), "/metrics".to_owned()),
    ])
}

/// The parent's name (empty when unset).
fn name(parent: &ObjectMeta) -> &str {
    parent.name.as_deref().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, TypedLocalObjectReference};
    use riff_actors::resources::{
        Addressable, ConcreteGatewayStatus, Gateway, GatewayStatus, KafkaGateway, KafkaGatewaySpec,
        Processor, Stream,
    };
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use std::fmt::Debug;

    /// Serializes `object` to YAML and parses it back as the same type.
    fn round_trips<T: Serialize + DeserializeOwned + PartialEq + Debug>(object: &T) {
        let yaml = serde_norway::to_string(object).unwrap();
        let back: T = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(&back, object, "{yaml}");
    }

    #[test]
    fn every_child_survives_yaml_as_its_kubernetes_type() {
        let images = gateway::GatewayImages {
            gateway: "riff:gw".into(),
        };
        let mut kafka = KafkaGateway::new(
            "k",
            KafkaGatewaySpec {
                bootstrap_servers: "kafka:9092".into(),
                ..KafkaGatewaySpec::default()
            },
        );
        kafka.status = Some(ConcreteGatewayStatus {
            address: Some(Addressable {
                url: Some("http://k-gateway-a.default.svc.cluster.local".into()),
            }),
            ..ConcreteGatewayStatus::default()
        });
        let mut child: Gateway = gateway::kafka_gateway(&kafka, &images);
        round_trips(&child);
        child.status = Some(GatewayStatus {
            service_ref: Some(TypedLocalObjectReference {
                kind: "Service".into(),
                name: "k-gateway-a".into(),
                ..TypedLocalObjectReference::default()
            }),
            ..GatewayStatus::default()
        });
        let service: Service = gateway::gateway_service(&child).unwrap();
        round_trips(&service);
        let deployment: Deployment = gateway::gateway_deployment(&child, Some(2)).unwrap();
        round_trips(&deployment);

        let yaml = "metadata: {name: in, uid: u1}\nspec: {gateway: {name: k}}\n\
            status: {binding: {metadataRef: {name: in-stream-binding-metadata}, \
            secretRef: {name: in-stream-binding-secret}}}\n";
        let in_stream: Stream = serde_norway::from_str(yaml).unwrap();
        let config_map: ConfigMap = stream::binding_metadata(&in_stream);
        round_trips(&config_map);
        let coordinates = stream::StreamCoordinates {
            gateway: "k-gateway-a.default.svc.cluster.local:6565".into(),
            topic: "default_in".into(),
            bootstrap_servers: Some("kafka:9092".into()),
            kafka_security: None,
        };
        let secret: Secret = stream::binding_secret(&in_stream, &coordinates).unwrap();
        round_trips(&secret);

        let yaml = "metadata: {name: p}\nspec: {inputs: [{stream: in}], \
            template: {spec: {containers: [{image: fn}]}}}\nstatus: {latestImage: fn}\n";
        let p: Processor = serde_norway::from_str(yaml).unwrap();
        let deployment = processor::processor_deployment(&p, "riff:proc", &[in_stream], &[], None);
        round_trips(&deployment.unwrap());
        let inputs = [processor::ScaledInput {
            coordinates,
            partitions: 4,
        }];
        let scaled_object =
            processor::processor_scaled_object(&p, "p-processor-a", &inputs, None, None).unwrap();
        round_trips(&scaled_object);
        let yaml = serde_norway::to_string(&scaled_object).unwrap();
        assert!(
            yaml.starts_with("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\n"),
            "{yaml}"
        );
    }

    #[test]
    fn extra_labels_win_over_the_parents() {
        let parent = ObjectMeta {
            labels: Some(BTreeMap::from([
                ("app".to_owned(), "a".to_owned()),
                (STREAM_LABEL.to_owned(), "forged".to_owned()),
            ])),
            ..ObjectMeta::default()
        };
        let labels = labels(&parent, &[(STREAM_LABEL, "in")]);
        assert_eq!(labels["app"], "a");
        assert_eq!(labels[STREAM_LABEL], "in");
    }
}
