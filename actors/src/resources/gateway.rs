//! `Gateway`: the abstract gateway a concrete gateway kind creates (docs/riff-compatibility.md §1.2).

use k8s_openapi::api::core::v1::{PodTemplateSpec, ServicePort, TypedLocalObjectReference};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::{Addressable, CommonStatus};
use super::field_error::{FieldError, FieldErrors};
use super::metadata::validate_metadata;
use super::Admission;

/// The desired state of a [`Gateway`]: a liiklus gateway plus provisioner behind one Service.
// The printer columns repeat `type_ = "string"`, which this lint mistakes for a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "streaming.projectriff.io",
    version = "v1alpha1",
    kind = "Gateway",
    namespaced,
    status = "GatewayStatus",
    category = "riff",
    derive = "PartialEq",
    doc = "A gateway to a messaging system: serves the liiklus API and provisions topics.",
    printcolumn(
        name = "Type",
        type_ = "string",
        json_path = ".metadata.labels['streaming\\.projectriff\\.io/gateway-type']"
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.template) || (has(self.ports) && size(self.ports) > 0)",
    "message": "spec must set template or ports",
}]))]
pub struct GatewaySpec {
    /// The pod of the gateway Deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<PodTemplateSpec>,
    /// The ports of the gateway Service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ServicePort>,
}

/// The observed state of a [`Gateway`]; conditions `Ready`, `DeploymentReady`, `ServiceReady`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatus {
    /// Observed generation and conditions.
    #[serde(flatten)]
    pub common: CommonStatus,
    /// `http://<service>.<namespace>.svc.cluster.local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Addressable>,
    /// The gateway Deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_ref: Option<TypedLocalObjectReference>,
    /// The gateway Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ref: Option<TypedLocalObjectReference>,
}

/// The observed state of a concrete gateway kind (`KafkaGateway`, `InMemoryGateway`); conditions
/// `Ready` and `GatewayReady`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConcreteGatewayStatus {
    /// Observed generation and conditions.
    #[serde(flatten)]
    pub common: CommonStatus,
    /// Copied from the child [`Gateway`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Addressable>,
    /// The child [`Gateway`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_ref: Option<TypedLocalObjectReference>,
    /// The gateway image in use (`riff gateway` serves the provisioner API too, so there is no
    /// separate `provisionerImage` as in riff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_image: Option<String>,
}

impl Admission for Gateway {
    /// Gateways have no defaults.
    fn apply_defaults(&mut self) {}

    /// An entirely empty spec is rejected (`spec: Required value`).
    fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = validate_metadata(&self.metadata);
        if self.spec == GatewaySpec::default() {
            errors.push(FieldError::required("spec", ""));
        }
        errors.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_spec_is_rejected() {
        let gateway = Gateway::new("franz", GatewaySpec::default());
        assert_eq!(
            gateway.validate().unwrap_err().to_string(),
            "spec: Required value"
        );
    }

    #[test]
    fn ports_are_enough() {
        let spec = GatewaySpec {
            ports: vec![ServicePort {
                name: Some("gateway".into()),
                port: 6565,
                ..ServicePort::default()
            }],
            ..GatewaySpec::default()
        };
        let mut gateway = Gateway::new("franz", spec.clone());
        gateway.apply_defaults();
        assert_eq!(gateway.spec, spec);
        assert_eq!(gateway.validate(), Ok(()));
    }

    #[test]
    fn crd_prints_type_ready_reason_age() {
        let crd = crate::resources::crds::of::<Gateway>();
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some("gateways.streaming.projectriff.io")
        );
        assert_eq!(crd.spec.names.categories, Some(vec!["riff".to_owned()]));
        let version = &crd.spec.versions[0];
        let columns: Vec<_> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(columns, ["Type", "Ready", "Reason", "Age"]);
        assert!(version.subresources.as_ref().unwrap().status.is_some());
    }
}
