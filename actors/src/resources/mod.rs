//! Resource types of `streaming.projectriff.io/v1alpha1`: the kinds, their defaulting and
//! validation (riff's admission webhooks), and loading them from YAML manifests.

mod condition;
pub mod crds;
pub mod delivery;
mod field_error;
mod gateway;
mod inmemory_gateway;
mod kafka_gateway;
mod kafka_security;
pub mod manifest;
mod metadata;
mod processor;
mod stream;
mod window;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use condition::{
    condition_type, ready, ready_summary, reason, Addressable, CommonStatus, Condition,
    ConditionStatus,
};
pub use delivery::{BackoffPolicy, DeadLetter, DeliveryPolicy, ResolvedDelivery, RetryBackoff};
pub use field_error::{BadValue, ErrorKind, FieldError, FieldErrors};
pub use gateway::{ConcreteGatewayStatus, Gateway, GatewaySpec, GatewayStatus};
pub use inmemory_gateway::{InMemoryGateway, InMemoryGatewaySpec};
pub use kafka_gateway::{KafkaGateway, KafkaGatewaySpec};
pub use kafka_security::{KafkaSasl, KafkaSecurityRefs, KafkaTls, SaslMechanism, SecretKeyRef};
pub use manifest::{check_references, load, Loaded, ManifestError};
pub use processor::{
    Build, InputStreamBinding, OutputStreamBinding, Processor, ProcessorSpec, ProcessorStatus,
    StartOffset, FUNCTION_CONTAINER,
};
pub use stream::{Stream, StreamBinding, StreamSpec, StreamStatus, DEFAULT_CONTENT_TYPE};
pub use window::{
    parse_go_duration, Clock, KeyBy, ResolvedWindow, Shape, TimeBasis, Window, WindowKind,
    DEFAULT_WINDOW_DURATION,
};

/// The API group and version of every kind here.
pub const API_VERSION: &str = "streaming.projectriff.io/v1alpha1";

/// The namespace of a resource that names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// What riff's admission webhooks did for a kind: defaulting, then validation.
pub trait Admission {
    /// Fills in defaults (riff's mutating webhook); idempotent.
    fn apply_defaults(&mut self);

    /// Checks the object (riff's validating webhook plus the API server's `metadata.name`
    /// checks); updates are validated exactly like creates.
    fn validate(&self) -> Result<(), FieldErrors>;
}

/// Secrets as the API server admits them: only their metadata is checked.
impl Admission for Secret {
    fn apply_defaults(&mut self) {}

    fn validate(&self) -> Result<(), FieldErrors> {
        metadata::validate_metadata(&self.metadata).into_result()
    }
}

/// What a manifest document holds: a resource of any kind of this API group, or a Secret.
// Every kind is kilobytes (pod templates); the few loaded from YAML are not worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ManifestObject {
    /// A gateway backed by Kafka.
    KafkaGateway(KafkaGateway),
    /// A gateway backed by memory.
    InMemoryGateway(InMemoryGateway),
    /// The abstract gateway.
    Gateway(Gateway),
    /// A stream.
    Stream(Stream),
    /// A processor.
    Processor(Processor),
    /// A Secret (core `v1`): what a KafkaGateway's `tls` and `sasl` reference, for `riff local
    /// run` (in a cluster, the API server has them).
    Secret(Secret),
}

impl ManifestObject {
    /// The kinds of this API group, sorted.
    pub const KINDS: [&'static str; 5] = [
        "Gateway",
        "InMemoryGateway",
        "KafkaGateway",
        "Processor",
        "Stream",
    ];

    /// The kind, e.g. `Processor`.
    pub fn kind(&self) -> &'static str {
        match self {
            ManifestObject::KafkaGateway(_) => "KafkaGateway",
            ManifestObject::InMemoryGateway(_) => "InMemoryGateway",
            ManifestObject::Gateway(_) => "Gateway",
            ManifestObject::Stream(_) => "Stream",
            ManifestObject::Processor(_) => "Processor",
            ManifestObject::Secret(_) => "Secret",
        }
    }

    /// Whether a Stream's `spec.gateway` can name this resource (any of the gateway kinds).
    pub fn is_gateway(&self) -> bool {
        Self::is_gateway_kind(self.kind())
    }

    /// Whether `kind` is one of the gateway kinds, which share one name space per namespace
    /// (each concrete gateway creates a `Gateway` of its own name).
    pub fn is_gateway_kind(kind: &str) -> bool {
        matches!(kind, "KafkaGateway" | "InMemoryGateway" | "Gateway")
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            ManifestObject::KafkaGateway(r) => &r.metadata,
            ManifestObject::InMemoryGateway(r) => &r.metadata,
            ManifestObject::Gateway(r) => &r.metadata,
            ManifestObject::Stream(r) => &r.metadata,
            ManifestObject::Processor(r) => &r.metadata,
            ManifestObject::Secret(r) => &r.metadata,
        }
    }

    /// The object's metadata, mutably.
    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        match self {
            ManifestObject::KafkaGateway(r) => &mut r.metadata,
            ManifestObject::InMemoryGateway(r) => &mut r.metadata,
            ManifestObject::Gateway(r) => &mut r.metadata,
            ManifestObject::Stream(r) => &mut r.metadata,
            ManifestObject::Processor(r) => &mut r.metadata,
            ManifestObject::Secret(r) => &mut r.metadata,
        }
    }

    /// `metadata.name` (empty when unset).
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// `metadata.namespace`, `default` when unset.
    pub fn namespace(&self) -> &str {
        self.metadata()
            .namespace
            .as_deref()
            .unwrap_or(DEFAULT_NAMESPACE)
    }

    fn admission(&self) -> &dyn Admission {
        match self {
            ManifestObject::KafkaGateway(r) => r,
            ManifestObject::InMemoryGateway(r) => r,
            ManifestObject::Gateway(r) => r,
            ManifestObject::Stream(r) => r,
            ManifestObject::Processor(r) => r,
            ManifestObject::Secret(r) => r,
        }
    }

    fn admission_mut(&mut self) -> &mut dyn Admission {
        match self {
            ManifestObject::KafkaGateway(r) => r,
            ManifestObject::InMemoryGateway(r) => r,
            ManifestObject::Gateway(r) => r,
            ManifestObject::Stream(r) => r,
            ManifestObject::Processor(r) => r,
            ManifestObject::Secret(r) => r,
        }
    }
}

impl Admission for ManifestObject {
    fn apply_defaults(&mut self) {
        self.admission_mut().apply_defaults();
    }

    fn validate(&self) -> Result<(), FieldErrors> {
        self.admission().validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_riff_crd_with_status_and_ready_columns() {
        for (crd, kind) in crds::all().iter().zip(ManifestObject::KINDS) {
            assert_eq!(crd.spec.names.kind, kind);
            assert_eq!(crd.spec.group, "streaming.projectriff.io");
            assert_eq!(crd.spec.scope, "Namespaced");
            assert_eq!(crd.spec.names.categories, Some(vec!["riff".to_owned()]));
            assert_eq!(crd.spec.names.short_names, None);
            let version = &crd.spec.versions[0];
            assert_eq!(version.name, "v1alpha1");
            let columns: Vec<_> = version
                .additional_printer_columns
                .iter()
                .flatten()
                .collect();
            let last: Vec<_> = columns[columns.len() - 3..]
                .iter()
                .map(|c| (c.name.as_str(), c.json_path.as_str()))
                .collect();
            assert_eq!(
                last,
                [
                    ("Ready", r#".status.conditions[?(@.type=="Ready")].status"#),
                    ("Reason", r#".status.conditions[?(@.type=="Ready")].reason"#),
                    ("Age", ".metadata.creationTimestamp"),
                ]
            );
            let schema = serde_json::to_value(&version.schema).unwrap();
            let status = &schema["openAPIV3Schema"]["properties"]["status"]["properties"];
            assert!(status["conditions"].is_object(), "{kind}: {status}");
            assert!(status["observedGeneration"].is_object(), "{kind}");
        }
    }

    #[test]
    fn resource_dispatches_to_its_kind() {
        let mut stream = ManifestObject::Stream(Stream::new(
            "in",
            StreamSpec {
                gateway: k8s_openapi::api::core::v1::LocalObjectReference {
                    name: "franz".into(),
                },
                ..StreamSpec::default()
            },
        ));
        assert_eq!(stream.kind(), "Stream");
        assert!(!stream.is_gateway());
        assert_eq!((stream.namespace(), stream.name()), ("default", "in"));
        stream.metadata_mut().namespace = Some("dev".into());
        assert_eq!(stream.namespace(), "dev");
        stream.apply_defaults();
        let ManifestObject::Stream(s) = &stream else {
            unreachable!()
        };
        assert_eq!(s.spec.content_type, DEFAULT_CONTENT_TYPE);
        assert_eq!(stream.validate(), Ok(()));

        let gateway =
            ManifestObject::InMemoryGateway(InMemoryGateway::new("franz", InMemoryGatewaySpec {}));
        assert!(gateway.is_gateway());
        assert_eq!(gateway.kind(), "InMemoryGateway");
        let unnamed = ManifestObject::Gateway(Gateway::new("", GatewaySpec::default()));
        assert_eq!(
            unnamed.validate().unwrap_err().to_string(),
            "[metadata.name: Required value, spec: Required value]"
        );
    }
}
