//! KEDA 2's `ScaledObject` and `TriggerAuthentication` (`keda.sh/v1alpha1`), as far as a
//! processor uses them.

use std::collections::BTreeMap;

use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// What KEDA scales and on which metrics.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "keda.sh",
    version = "v1alpha1",
    kind = "ScaledObject",
    namespaced,
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct ScaledObjectSpec {
    /// The scaled workload.
    pub scale_target_ref: ScaleTargetRef,
    /// Seconds between two polls of the triggers.
    pub polling_interval: i32,
    /// Seconds after the last active trigger before scaling to `minReplicaCount`.
    pub cooldown_period: i32,
    /// The fewest replicas.
    pub min_replica_count: i32,
    /// The most replicas.
    pub max_replica_count: i32,
    /// The metrics scaled on.
    pub triggers: Vec<ScaleTrigger>,
}

/// The workload of a [`ScaledObject`]: a Deployment of the same namespace, by name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ScaleTargetRef {
    /// The Deployment's name.
    pub name: String,
}

/// One KEDA scaler, e.g. `liiklus` or `kafka`, with its string settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ScaleTrigger {
    /// The scaler.
    #[serde(rename = "type")]
    pub type_: String,
    /// The scaler's settings.
    pub metadata: BTreeMap<String, String>,
    /// The TriggerAuthentication giving the scaler its credentials.
    #[serde(
        default,
        rename = "authenticationRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub authentication_ref: Option<AuthenticationRef>,
}

/// A [`TriggerAuthentication`] of the trigger's namespace, by name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthenticationRef {
    pub name: String,
}

/// Where a scaler's credentials come from: keys of Secrets, never values.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "keda.sh",
    version = "v1alpha1",
    kind = "TriggerAuthentication",
    namespaced,
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct TriggerAuthenticationSpec {
    /// Scaler parameters read from Secrets.
    pub secret_target_ref: Vec<SecretTargetRef>,
}

/// One scaler parameter (e.g. the Kafka scaler's `password`) read from a key of a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretTargetRef {
    pub parameter: String,
    pub name: String,
    pub key: String,
}
