//! `InMemoryGateway`: a gateway whose streams live in memory (docs/riff-compatibility.md §1.4).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::field_error::FieldErrors;
use super::gateway::ConcreteGatewayStatus;
use super::metadata::validate_metadata;
use super::Admission;

/// The desired state of an [`InMemoryGateway`]: nothing to configure.
// The printer columns repeat `type_ = "string"`, which this lint mistakes for a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "streaming.projectriff.io",
    version = "v1alpha1",
    kind = "InMemoryGateway",
    namespaced,
    status = "ConcreteGatewayStatus",
    category = "riff",
    derive = "PartialEq",
    doc = "A gateway whose streams are kept in memory; for development."
)]
pub struct InMemoryGatewaySpec {}

impl Admission for InMemoryGateway {
    /// In-memory gateways have no defaults.
    fn apply_defaults(&mut self) {}

    /// Only the metadata is checked; the spec has no fields.
    fn validate(&self) -> Result<(), FieldErrors> {
        validate_metadata(&self.metadata).into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_named_gateway_is_valid() {
        let gateway = InMemoryGateway::new("franz", InMemoryGatewaySpec {});
        assert_eq!(gateway.validate(), Ok(()));
        let json = serde_json::to_value(&gateway).unwrap();
        assert_eq!(json["kind"], "InMemoryGateway");
        assert_eq!(json["apiVersion"], "streaming.projectriff.io/v1alpha1");
        assert_eq!(json["spec"], serde_json::json!({}));
    }
}
