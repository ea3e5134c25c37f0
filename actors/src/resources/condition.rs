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

/// A URL at which a resource can be reached (riff's `apis.Addressable`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct Addressable {
    /// E.g. `http://franz-gateway-x7k2p.default.svc.cluster.local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
