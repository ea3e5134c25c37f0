//! The knative-style status model shared by every kind (docs/riff-compatibility.md §1.1).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whether a condition holds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// Not known yet.
    #[default]
    Unknown,
}

/// One observation about a resource, e.g. `{type: Ready, status: "False", reason: ProvisionFailed}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's name, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// `Warning` or `Info`; empty (omitted) means `Error`, the severity of every riff condition.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub severity: String,
    /// When `status`, `reason`, `message` or `severity` last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// A CamelCase word explaining the status.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// A human-readable explanation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The status fields every kind has (riff's inlined `apis.Status`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommonStatus {
    /// The `metadata.generation` of the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The conditions, sorted by type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// The condition types of riff's kinds, each named once. Every kind has the happy [`READY`],
/// which summarises the kind's dependents (each kind's set:
/// `riff_kubernetes::conditions`).
///
/// [`READY`]: condition_type::READY
pub mod condition_type {
    /// Every kind's happy condition: all its dependents are `True`.
    pub const READY: &str = "Ready";
    /// Stream: its topic was provisioned.
    pub const RESOURCE_AVAILABLE: &str = "ResourceAvailable";
    /// Stream: its binding ConfigMap and Secret exist.
    pub const BINDING_READY: &str = "BindingReady";
    /// Processor: its input and output streams are Ready.
    pub const STREAMS_READY: &str = "StreamsReady";
    /// Gateway and Processor: their Deployment is available.
    pub const DEPLOYMENT_READY: &str = "DeploymentReady";
    /// Processor: its KEDA ScaledObject exists.
    pub const SCALED_OBJECT_READY: &str = "ScaledObjectReady";
    /// Processor: no replica stopped at a record that failed every attempt (our extension).
    pub const DELIVERY_READY: &str = "DeliveryReady";
    /// Gateway: its Service exists.
    pub const SERVICE_READY: &str = "ServiceReady";
    /// KafkaGateway and InMemoryGateway: their child Gateway is Ready.
    pub const GATEWAY_READY: &str = "GatewayReady";
}

/// The reasons the controller gives in conditions and Events, each named once (besides
/// `<Kind>NotFound` for a processor's missing function, and the reasons copied from children).
pub mod reason {
    /// The resource failed validation; the message names the field.
    pub const INVALID: &str = "Invalid";
    /// A pass failed on configuration or provisioning (a Warning Event).
    pub const RECONCILE_FAILED: &str = "ReconcileFailed";
    /// A child's name is taken by an object the resource does not own.
    pub const NOT_OWNED: &str = "NotOwned";
    /// The stream's topic could not be provisioned.
    pub const PROVISION_FAILED: &str = "ProvisionFailed";
    /// The stream's binding ConfigMap or Secret could not be made.
    pub const BINDING_FAILED: &str = "BindingFailed";
    /// A processor's stream does not exist.
    pub const STREAM_NOT_FOUND: &str = "StreamNotFound";
    /// A processor's stream is not Ready.
    pub const STREAM_NOT_READY: &str = "StreamNotReady";
    /// A processor's function has no latest image yet.
    pub const LATEST_IMAGE_MISSING: &str = "LatestImageMissing";
    /// A processor's replica stopped at a record that failed every attempt.
    pub const DELIVERY_FAILED: &str = "DeliveryFailed";
    /// A Secret a KafkaGateway references does not exist.
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    /// A key of a Secret a KafkaGateway references does not exist.
    pub const SECRET_KEY_NOT_FOUND: &str = "SecretKeyNotFound";
}

/// The [`condition_type::READY`] condition of `conditions`.
pub fn ready(conditions: &[Condition]) -> Option<&Condition> {
    let is_ready = |condition: &&Condition| condition.type_ == condition_type::READY;
    conditions.iter().find(is_ready)
}

/// The CLI's one-word status of a resource (docs/riff-compatibility.md §7, "Status summary"):
/// `Ready` when Ready is `True`, its reason (or `not-Ready`) when `False`, the raw status
/// otherwise, and `<unknown>` without a Ready condition.
pub fn ready_summary(conditions: &[Condition]) -> String {
    use condition_type::READY;
    match ready(conditions) {
        None => "<unknown>".to_owned(),
        Some(ready) => match ready.status {
            ConditionStatus::True => READY.to_owned(),
            ConditionStatus::False if ready.reason.is_empty() => format!("not-{READY}"),
            ConditionStatus::False => ready.reason.clone(),
            ConditionStatus::Unknown => "Unknown".to_owned(),
        },
    }
}

/// A URL at which a resource can be reached (riff's `apis.Addressable`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct Addressable {
    /// E.g. `http://franz-gateway-x7k2p.default.svc.cluster.local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::condition_type::{READY, STREAMS_READY};
    use super::*;
    use ConditionStatus::{False, True, Unknown};

    fn condition(type_: &str, status: ConditionStatus, reason: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status,
            reason: reason.into(),
            ..Condition::default()
        }
    }

    #[test]
    fn ready_summary_follows_the_cli() {
        assert_eq!(ready_summary(&[]), "<unknown>");
        assert_eq!(
            ready_summary(&[condition(STREAMS_READY, True, "")]),
            "<unknown>"
        );
        assert_eq!(ready_summary(&[condition(READY, True, "Ignored")]), "Ready");
        let failed = condition(READY, False, reason::PROVISION_FAILED);
        assert_eq!(ready_summary(&[failed]), "ProvisionFailed");
        assert_eq!(ready_summary(&[condition(READY, False, "")]), "not-Ready");
        assert_eq!(
            ready_summary(&[condition(READY, Unknown, "Waiting")]),
            "Unknown"
        );
    }

    #[test]
    fn condition_uses_riff_field_names_and_omits_empty_severity() {
        let condition = Condition {
            type_: "Ready".into(),
            status: ConditionStatus::False,
            reason: "ProvisionFailed".into(),
            message: "Gateway \"franz\" not found".into(),
            ..Condition::default()
        };
        let status = CommonStatus {
            observed_generation: Some(2),
            conditions: vec![condition],
        };
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "observedGeneration": 2,
                "conditions": [{
                    "type": "Ready",
                    "status": "False",
                    "reason": "ProvisionFailed",
                    "message": "Gateway \"franz\" not found",
                }],
            })
        );
        let back: CommonStatus = serde_json::from_value(json).unwrap();
        assert_eq!(back, status);
    }

    #[test]
    fn condition_reads_knative_json() {
        let condition: Condition = serde_json::from_value(serde_json::json!({
            "type": "StreamsReady",
            "status": "Unknown",
            "severity": "Warning",
            "lastTransitionTime": "2020-02-10T12:00:00Z",
        }))
        .unwrap();
        assert_eq!(condition.status, ConditionStatus::Unknown);
        assert_eq!(condition.severity, "Warning");
        assert_eq!(
            serde_json::to_value(&condition).unwrap()["lastTransitionTime"],
            "2020-02-10T12:00:00Z"
        );
    }
}
