//! riff's knative-style "living" condition sets (docs/riff-compatibility.md §1.1, §1.2 and §7):
//! each kind's [`ConditionSet`] names its dependent conditions, which its happy condition
//! `Ready` summarises; [`ConditionManager`] keeps a status' conditions under riff's rules, and
//! [`deployment_ready`] maps a Deployment's conditions to `DeploymentReady`. The condition types
//! and reasons are named once, in [`riff_actors::resources::condition_type`] and
//! [`riff_actors::resources::reason`].

mod deployment;
mod manager;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use riff_actors::resources::condition_type::*;
use riff_actors::resources::Condition;

pub use deployment::deployment_ready;
pub use manager::ConditionManager;

/// A kind's happy condition, [`READY`], and the dependent condition types it summarises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConditionSet {
    dependents: &'static [&'static str],
}

/// Stream: the topic was provisioned and the binding ConfigMap/Secret exist (docs/riff-compatibility.md §1.6).
pub const STREAM: ConditionSet = ConditionSet::new(&[RESOURCE_AVAILABLE, BINDING_READY]);
/// Processor: its streams, Deployment and KEDA ScaledObject (docs/riff-compatibility.md §1.7),
/// and our delivery extension.
pub const PROCESSOR: ConditionSet = ConditionSet::new(&[
    STREAMS_READY,
    DEPLOYMENT_READY,
    SCALED_OBJECT_READY,
    DELIVERY_READY,
]);
/// The abstract Gateway: its Deployment and Service (docs/riff-compatibility.md §1.2).
pub const GATEWAY: ConditionSet = ConditionSet::new(&[DEPLOYMENT_READY, SERVICE_READY]);
/// KafkaGateway: mirrors its child Gateway (docs/riff-compatibility.md §1.3).
pub const KAFKA_GATEWAY: ConditionSet = ConditionSet::new(&[GATEWAY_READY]);
/// InMemoryGateway: mirrors its child Gateway (docs/riff-compatibility.md §1.4).
pub const IN_MEMORY_GATEWAY: ConditionSet = ConditionSet::new(&[GATEWAY_READY]);

impl ConditionSet {
    /// A set whose happy condition [`READY`] summarises `dependents`.
    pub const fn new(dependents: &'static [&'static str]) -> Self {
        Self { dependents }
    }

    /// The dependent condition types, in declaration order.
    pub fn dependents(&self) -> &'static [&'static str] {
        self.dependents
    }

    /// Manages `conditions`, stamping transitions with the current time.
    pub fn manage<'a>(&'a self, conditions: &'a mut Vec<Condition>) -> ConditionManager<'a> {
        self.manage_at(conditions, Time(Timestamp::now()))
    }

    /// Manages `conditions`, stamping transitions with `now` (for tests).
    pub fn manage_at<'a>(
        &'a self,
        conditions: &'a mut Vec<Condition>,
        now: Time,
    ) -> ConditionManager<'a> {
        ConditionManager {
            set: self,
            conditions,
            now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn constant_sets_name_each_kinds_dependents() {
        assert_eq!(STREAM.dependents(), ["ResourceAvailable", "BindingReady"]);
        assert_eq!(
            PROCESSOR.dependents(),
            [
                "StreamsReady",
                "DeploymentReady",
                "ScaledObjectReady",
                "DeliveryReady"
            ]
        );
        assert_eq!(GATEWAY.dependents(), ["DeploymentReady", "ServiceReady"]);
        assert_eq!(KAFKA_GATEWAY.dependents(), ["GatewayReady"]);
        assert_eq!(IN_MEMORY_GATEWAY.dependents(), ["GatewayReady"]);
    }
}
