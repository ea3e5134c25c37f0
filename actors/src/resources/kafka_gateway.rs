//! `KafkaGateway`: a gateway backed by a Kafka cluster (docs/riff-compatibility.md §1.3).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::crds::Required;
use super::field_error::{FieldError, FieldErrors};
use super::gateway::ConcreteGatewayStatus;
use super::kafka_security::{KafkaSasl, KafkaSecurityRefs, KafkaTls};
use super::metadata::validate_metadata;
use super::Admission;

/// The desired state of a [`KafkaGateway`].
// The printer columns repeat `type_ = "string"`, which this lint mistakes for a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "streaming.projectriff.io",
    version = "v1alpha1",
    kind = "KafkaGateway",
    namespaced,
    status = "ConcreteGatewayStatus",
    category = "riff",
    derive = "PartialEq",
    doc = "A gateway whose streams are topics of a Kafka cluster.",
    printcolumn(
        name = "Bootstrap Servers",
        type_ = "string",
        json_path = ".spec.bootstrapServers"
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = Required(&["bootstrapServers"]))]
pub struct KafkaGatewaySpec {
    /// Comma-separated `host:port` list of the Kafka brokers to bootstrap from.
    #[serde(default)]
    #[schemars(length(min = 1), pattern(r"\S"))]
    pub bootstrap_servers: String,
    /// Our extension: the connections are encrypted (TLS), with the CA and client certificate
    /// taken from Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<KafkaTls>,
    /// Our extension: riff authenticates with SASL (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`),
    /// user and password taken from Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<KafkaSasl>,
}

impl KafkaGatewaySpec {
    /// How the gateway's clients connect: `tls` and `sasl`, references only.
    pub fn security(&self) -> KafkaSecurityRefs {
        KafkaSecurityRefs {
            tls: self.tls.clone(),
            sasl: self.sasl.clone(),
        }
    }
}

impl Admission for KafkaGateway {
    /// Kafka gateways have no defaults.
    fn apply_defaults(&mut self) {}

    /// `spec.bootstrapServers` is required; `tls` and `sasl` reference Secret keys.
    fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = validate_metadata(&self.metadata);
        if self.spec.bootstrap_servers.trim().is_empty() {
            errors.push(FieldError::required("spec.bootstrapServers", ""));
        }
        errors.append(self.spec.security().validate());
        errors.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Behaviour 3 of docs/riff-compatibility.md (the Kafka half; we ship no PulsarGateway).
    #[test]
    fn bootstrap_servers_are_required() {
        let gateway = KafkaGateway::new("k", KafkaGatewaySpec::default());
        assert_eq!(
            gateway.validate().unwrap_err().to_string(),
            "spec.bootstrapServers: Required value"
        );
        let spec = KafkaGatewaySpec {
            bootstrap_servers: "kafka.kafka:9092".into(),
            ..KafkaGatewaySpec::default()
        };
        assert_eq!(KafkaGateway::new("k", spec).validate(), Ok(()));
    }

    #[test]
    fn crd_prints_bootstrap_servers() {
        let crd = crate::resources::crds::of::<KafkaGateway>();
        let columns: Vec<_> = crd.spec.versions[0]
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| (c.name.as_str(), c.json_path.as_str()))
            .collect();
        assert_eq!(columns[0], ("Bootstrap Servers", ".spec.bootstrapServers"));
        assert_eq!(columns.len(), 4);
    }
}
