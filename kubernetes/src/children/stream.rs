//! Streams: once provisioned, a Stream owns a binding ConfigMap and Secret that processors mount
//! (docs/riff-compatibility.md §2.4).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;

use super::{child_metadata, labels, name, STREAM_LABEL};
use riff_actors::resources::{KafkaSecurityRefs, Stream, DEFAULT_CONTENT_TYPE};

/// Where a provisioned stream lives: what the provisioner answered, kept in the binding Secret.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamCoordinates {
    /// The liiklus address of the stream's gateway, `host:port` (key `gateway`).
    pub gateway: String,
    /// The topic (key `topic`).
    pub topic: String,
    /// Our extension: the Kafka cluster of a Kafka-backed stream (key `bootstrapServers`), which
    /// the processor sidecar then reads and writes directly.
    pub bootstrap_servers: Option<String>,
    /// Our extension: how to connect to that cluster (key `kafkaSecurity`, JSON): its
    /// KafkaGateway's `tls` and `sasl`, references to Secrets the processor pod mounts, never
    /// their values.
    pub kafka_security: Option<KafkaSecurityRefs>,
}

impl StreamCoordinates {
    /// Reads a binding Secret; `None` when `gateway` or `topic` is missing or empty.
    pub fn from_secret(secret: &Secret) -> Option<Self> {
        let data = secret.data.as_ref()?;
        let value = |key: &str| {
            data.get(key)
                .and_then(|v| String::from_utf8(v.0.clone()).ok())
                .filter(|v| !v.is_empty())
        };
        Some(StreamCoordinates {
            gateway: value("gateway")?,
            topic: value("topic")?,
            bootstrap_servers: value("bootstrapServers"),
            kafka_security: value("kafkaSecurity")
                .and_then(|json| serde_json::from_str(&json).ok()),
        })
    }
}

/// `<stream>-stream-binding-metadata`.
pub fn binding_metadata_name(stream: &str) -> String {
    format!("{stream}-stream-binding-metadata")
}

/// `<stream>-stream-binding-secret`.
pub fn binding_secret_name(stream: &str) -> String {
    format!("{stream}-stream-binding-secret")
}

/// The stream's labels plus `streaming.projectriff.io/stream: <stream>`, and the given name.
fn binding_object_metadata(stream: &Stream, child_name: String) -> ObjectMeta {
    let labels = labels(&stream.metadata, &[(STREAM_LABEL, name(&stream.metadata))]);
    ObjectMeta {
        name: Some(child_name),
        ..child_metadata(&stream.metadata, labels)
    }
}

/// The binding ConfigMap: `kind`, `provider`, `tags`, `stream` and `contentType`. The reconciler
/// wants it only after provisioning succeeded in the same pass.
pub fn binding_metadata(stream: &Stream) -> ConfigMap {
    let stream_name = name(&stream.metadata);
    let content_type = match stream.spec.content_type.as_str() {
        "" => DEFAULT_CONTENT_TYPE,
        content_type => content_type,
    };
    let data = [
        ("kind", "Stream.streaming.projectriff.io"),
        ("provider", "riff Streaming"),
        ("tags", ""),
        ("stream", stream_name),
        ("contentType", content_type),
    ];
    ConfigMap {
        metadata: binding_object_metadata(stream, binding_metadata_name(stream_name)),
        data: Some(
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        ..ConfigMap::default()
    }
}

/// The binding Secret: `gateway`, `topic` and, for a Kafka-backed stream, `bootstrapServers`
/// and (when the cluster needs TLS or SASL) `kafkaSecurity`.
/// `None` unless both `gateway` and `topic` are known.
pub fn binding_secret(stream: &Stream, coordinates: &StreamCoordinates) -> Option<Secret> {
    if coordinates.gateway.is_empty() || coordinates.topic.is_empty() {
        return None;
    }
    let mut data = BTreeMap::from([
        ("gateway", coordinates.gateway.as_str()),
        ("topic", coordinates.topic.as_str()),
    ]);
    if let Some(servers) = coordinates
        .bootstrap_servers
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        data.insert("bootstrapServers", servers);
    }
    let security = coordinates
        .kafka_security
        .as_ref()
        .filter(|security| !security.is_empty())
        .map(|security| serde_json::to_string(security).expect("references serialize"));
    if let Some(security) = &security {
        data.insert("kafkaSecurity", security);
    }
    let stream_name = name(&stream.metadata);
    Some(Secret {
        metadata: binding_object_metadata(stream, binding_secret_name(stream_name)),
        data: Some(
            data.into_iter()
                .map(|(k, v)| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Secret::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::LocalObjectReference;
    use riff_actors::resources::StreamSpec;

    fn stream(content_type: &str) -> Stream {
        let mut stream = Stream::new(
            "in",
            StreamSpec {
                gateway: LocalObjectReference {
                    name: "franz".into(),
                },
                content_type: content_type.into(),
                ..StreamSpec::default()
            },
        );
        stream.metadata.namespace = Some("dev".into());
        stream.metadata.labels = Some(BTreeMap::from([("app".into(), "a".into())]));
        stream
    }

    fn coordinates(bootstrap_servers: Option<&str>) -> StreamCoordinates {
        StreamCoordinates {
            gateway: "franz-gateway-x7k2p.dev.svc.cluster.local:6565".into(),
            topic: "dev_in".into(),
            bootstrap_servers: bootstrap_servers.map(Into::into),
            kafka_security: None,
        }
    }

    fn expected_labels() -> Option<BTreeMap<String, String>> {
        Some(BTreeMap::from([
            ("app".into(), "a".into()),
            (STREAM_LABEL.into(), "in".into()),
        ]))
    }

    fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn secret_data(secret: &Secret) -> BTreeMap<String, String> {
        let data = secret.data.as_ref().unwrap();
        data.iter()
            .map(|(k, v)| (k.clone(), String::from_utf8(v.0.clone()).unwrap()))
            .collect()
    }

    // Behaviour 27 of docs/riff-compatibility.md: the ConfigMap.
    #[test]
    fn metadata_config_map_describes_the_stream() {
        let config_map = binding_metadata(&stream("application/json"));
        assert_eq!(
            config_map.metadata.name.as_deref(),
            Some("in-stream-binding-metadata")
        );
        assert_eq!(config_map.metadata.namespace.as_deref(), Some("dev"));
        assert_eq!(config_map.metadata.labels, expected_labels());
        assert_eq!(
            config_map.data,
            Some(strings(&[
                ("kind", "Stream.streaming.projectriff.io"),
                ("provider", "riff Streaming"),
                ("tags", ""),
                ("stream", "in"),
                ("contentType", "application/json"),
            ]))
        );
        let undefaulted = binding_metadata(&stream(""));
        assert_eq!(
            undefaulted.data.unwrap()["contentType"],
            "application/octet-stream"
        );
    }

    // Behaviour 27 of docs/riff-compatibility.md: the Secret.
    #[test]
    fn secret_holds_gateway_and_topic() {
        let secret = binding_secret(&stream(""), &coordinates(None)).unwrap();
        assert_eq!(
            secret.metadata.name.as_deref(),
            Some("in-stream-binding-secret")
        );
        assert_eq!(secret.metadata.namespace.as_deref(), Some("dev"));
        assert_eq!(secret.metadata.labels, expected_labels());
        assert_eq!(
            secret_data(&secret),
            strings(&[
                ("gateway", "franz-gateway-x7k2p.dev.svc.cluster.local:6565"),
                ("topic", "dev_in"),
            ])
        );
        assert_eq!(
            StreamCoordinates::from_secret(&secret),
            Some(coordinates(None))
        );
        let mut unprovisioned = coordinates(None);
        unprovisioned.topic.clear();
        assert_eq!(binding_secret(&stream(""), &unprovisioned), None);
    }

    #[test]
    fn kafka_backed_secret_adds_bootstrap_servers() {
        let kafka = coordinates(Some("kafka.kafka:9092"));
        let secret = binding_secret(&stream(""), &kafka).unwrap();
        assert_eq!(secret_data(&secret)["bootstrapServers"], "kafka.kafka:9092");
        assert_eq!(StreamCoordinates::from_secret(&secret), Some(kafka));
        assert_eq!(StreamCoordinates::from_secret(&Secret::default()), None);
    }
}
