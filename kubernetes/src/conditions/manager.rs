//! riff's rules for a kind's conditions (docs/riff-compatibility.md §1.1):
//!
//! - (a) [`ConditionManager::initialize`] adds missing conditions as `Unknown`, or `True` when
//!   `Ready` is already `True`;
//! - (b) marking a dependent `True` sets `Ready` `True` only if every dependent is `True`;
//! - (c) marking a dependent `False` sets `Ready` `False` with the same reason and message;
//! - (d) marking a dependent `Unknown` sets `Ready` `Unknown` (same reason and message) unless
//!   some dependent is `False`, in which case `Ready` stays (or becomes) `False`.
//!
//! Conditions are kept sorted by type, and a condition's `lastTransitionTime` only moves when its
//! status, reason, message or severity change. Every riff condition has Error severity, which is
//! encoded as an empty `severity`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::ConditionSet;
use riff_actors::resources::condition_type::READY;
use riff_actors::resources::{Condition, ConditionStatus};

#[derive(Debug)]
pub struct ConditionManager<'a> {
    pub(super) set: &'a ConditionSet,
    pub(super) conditions: &'a mut Vec<Condition>,
    pub(super) now: Time,
}

impl ConditionManager<'_> {
    /// The condition of type `type_`, if present.
    pub fn get(&self, type_: &str) -> Option<&Condition> {
        find(self.conditions, type_)
    }

    /// Whether [`READY`] is `True`.
    pub fn is_happy(&self) -> bool {
        self.status_of(READY) == Some(ConditionStatus::True)
    }

    /// Rule (a): adds the missing conditions, `Unknown` unless `Ready` is already `True`.
    pub fn initialize(&mut self) {
        let ready = match self.status_of(READY) {
            Some(status) => status,
            None => {
                self.set(READY, ConditionStatus::Unknown, "", "");
                ConditionStatus::Unknown
            }
        };
        let status = if ready == ConditionStatus::True {
            ConditionStatus::True
        } else {
            ConditionStatus::Unknown
        };
        for &type_ in self.set.dependents {
            if self.get(type_).is_none() {
                self.set(type_, status, "", "");
            }
        }
    }

    /// Rule (b): sets `type_` `True`, and `Ready` too once every dependent is `True`.
    pub fn mark_true(&mut self, type_: &str) {
        self.set(type_, ConditionStatus::True, "", "");
        if self
            .set
            .dependents
            .iter()
            .all(|dependent| self.status_of(dependent) == Some(ConditionStatus::True))
        {
            self.set(READY, ConditionStatus::True, "", "");
        }
    }

    /// Rule (c): sets `type_` `False`, and `Ready` too (same reason and message) if `type_` is a
    /// dependent.
    pub fn mark_false(&mut self, type_: &str, reason: &str, message: &str) {
        self.set(type_, ConditionStatus::False, reason, message);
        if self.is_dependent(type_) {
            self.set(READY, ConditionStatus::False, reason, message);
        }
    }

    /// Rule (d): sets `type_` `Unknown`. If some dependent is `False`, `Ready` is made `False`
    /// (with this reason and message) unless it already is; otherwise, if `type_` is a dependent,
    /// `Ready` becomes `Unknown` with this reason and message.
    pub fn mark_unknown(&mut self, type_: &str, reason: &str, message: &str) {
        self.set(type_, ConditionStatus::Unknown, reason, message);
        if self
            .set
            .dependents
            .iter()
            .any(|dependent| self.status_of(dependent) == Some(ConditionStatus::False))
        {
            if self.status_of(READY) != Some(ConditionStatus::False) {
                self.set(READY, ConditionStatus::False, reason, message);
            }
        } else if self.is_dependent(type_) {
            self.set(READY, ConditionStatus::Unknown, reason, message);
        }
    }

    /// Dispatches to [`mark_true`](Self::mark_true) (ignoring reason and message),
    /// [`mark_false`](Self::mark_false) or [`mark_unknown`](Self::mark_unknown), e.g. to apply
    /// [`deployment_ready`].
    pub fn mark(&mut self, type_: &str, status: ConditionStatus, reason: &str, message: &str) {
        match status {
            ConditionStatus::True => self.mark_true(type_),
            ConditionStatus::False => self.mark_false(type_, reason, message),
            ConditionStatus::Unknown => self.mark_unknown(type_, reason, message),
        }
    }

    fn is_dependent(&self, type_: &str) -> bool {
        self.set.dependents.contains(&type_)
    }

    fn status_of(&self, type_: &str) -> Option<ConditionStatus> {
        self.get(type_).map(|condition| condition.status)
    }

    /// Replaces (or adds) one condition, keeping the list sorted and the transition time unless
    /// something besides it changed.
    fn set(&mut self, type_: &str, status: ConditionStatus, reason: &str, message: &str) {
        let mut condition = Condition {
            type_: type_.to_owned(),
            status,
            severity: String::new(),
            last_transition_time: None,
            reason: reason.to_owned(),
            message: message.to_owned(),
        };
        if let Some(index) = self.conditions.iter().position(|c| c.type_ == type_) {
            condition.last_transition_time = self.conditions[index].last_transition_time.clone();
            if self.conditions[index] == condition {
                return;
            }
            self.conditions.remove(index);
        }
        condition.last_transition_time = Some(self.now.clone());
        self.conditions.push(condition);
        self.conditions.sort_by(|a, b| a.type_.cmp(&b.type_));
    }
}

fn find<'c>(conditions: &'c [Condition], type_: &str) -> Option<&'c Condition> {
    conditions.iter().find(|condition| condition.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::{GATEWAY, IN_MEMORY_GATEWAY, KAFKA_GATEWAY, PROCESSOR, STREAM};
    use ConditionStatus::{False, True, Unknown};

    fn at(rfc3339: &str) -> Time {
        Time(rfc3339.parse().unwrap())
    }

    const T0: &str = "2020-02-10T12:00:00Z";
    const T1: &str = "2020-02-10T12:01:00Z";

    fn condition(type_: &str, status: ConditionStatus, reason: &str, message: &str) -> Condition {
        condition_at(type_, status, reason, message, T0)
    }

    fn condition_at(
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: &str,
        time: &str,
    ) -> Condition {
        Condition {
            type_: type_.into(),
            status,
            severity: String::new(),
            last_transition_time: Some(at(time)),
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// Stream conditions, all stamped T0: (BindingReady, Ready, ResourceAvailable).
    fn stream(
        binding: ConditionStatus,
        ready: ConditionStatus,
        resource: ConditionStatus,
    ) -> Vec<Condition> {
        vec![
            condition("BindingReady", binding, "", ""),
            condition(READY, ready, "", ""),
            condition("ResourceAvailable", resource, "", ""),
        ]
    }

    #[test]
    fn initialize_adds_missing_conditions_as_unknown_sorted_by_type() {
        let mut conditions = vec![];
        PROCESSOR.manage_at(&mut conditions, at(T0)).initialize();
        assert_eq!(
            conditions,
            [
                condition("DeliveryReady", Unknown, "", ""),
                condition("DeploymentReady", Unknown, "", ""),
                condition(READY, Unknown, "", ""),
                condition("ScaledObjectReady", Unknown, "", ""),
                condition("StreamsReady", Unknown, "", ""),
            ]
        );
    }

    #[test]
    fn initialize_keeps_existing_conditions_and_their_times() {
        let mut conditions = vec![condition(
            "ResourceAvailable",
            False,
            "ProvisionFailed",
            "boom",
        )];
        STREAM.manage_at(&mut conditions, at(T1)).initialize();
        assert_eq!(
            conditions,
            [
                condition_at("BindingReady", Unknown, "", "", T1),
                condition_at(READY, Unknown, "", "", T1),
                condition("ResourceAvailable", False, "ProvisionFailed", "boom"),
            ]
        );
    }

    #[test]
    fn initialize_adds_missing_dependents_as_true_when_ready_is_true() {
        let mut conditions = vec![condition(READY, True, "", "")];
        GATEWAY.manage_at(&mut conditions, at(T1)).initialize();
        assert_eq!(
            conditions,
            [
                condition_at("DeploymentReady", True, "", "", T1),
                condition(READY, True, "", ""),
                condition_at("ServiceReady", True, "", "", T1),
            ]
        );
    }

    #[test]
    fn mark_true_leaves_ready_alone_while_another_dependent_is_not_true() {
        let mut conditions = stream(Unknown, Unknown, Unknown);
        STREAM
            .manage_at(&mut conditions, at(T1))
            .mark_true("ResourceAvailable");
        assert_eq!(
            conditions,
            [
                condition("BindingReady", Unknown, "", ""),
                condition(READY, Unknown, "", ""),
                condition_at("ResourceAvailable", True, "", "", T1),
            ]
        );
    }

    #[test]
    fn mark_true_of_the_last_dependent_makes_ready_true() {
        let mut conditions = stream(Unknown, False, True);
        conditions[0].reason = "BindingFailed".into();
        conditions[1].reason = "BindingFailed".into();
        let mut manager = STREAM.manage_at(&mut conditions, at(T1));
        manager.mark_true("BindingReady");
        assert!(manager.is_happy());
        assert_eq!(
            conditions,
            [
                condition_at("BindingReady", True, "", "", T1),
                condition_at(READY, True, "", "", T1),
                condition("ResourceAvailable", True, "", ""),
            ]
        );
    }

    #[test]
    fn mark_false_of_a_dependent_makes_ready_false_with_its_reason_and_message() {
        let mut conditions = stream(True, True, True);
        STREAM.manage_at(&mut conditions, at(T1)).mark_false(
            "ResourceAvailable",
            "ProvisionFailed",
            "Gateway \"franz\" not found",
        );
        assert_eq!(
            conditions,
            [
                condition("BindingReady", True, "", ""),
                condition_at(
                    READY,
                    False,
                    "ProvisionFailed",
                    "Gateway \"franz\" not found",
                    T1
                ),
                condition_at(
                    "ResourceAvailable",
                    False,
                    "ProvisionFailed",
                    "Gateway \"franz\" not found",
                    T1
                ),
            ]
        );
    }

    #[test]
    fn mark_unknown_of_a_dependent_makes_ready_unknown_with_its_reason_and_message() {
        let mut conditions = stream(True, True, True);
        STREAM.manage_at(&mut conditions, at(T1)).mark_unknown(
            "ResourceAvailable",
            "Provisioning",
            "in progress",
        );
        assert_eq!(
            conditions,
            [
                condition("BindingReady", True, "", ""),
                condition_at(READY, Unknown, "Provisioning", "in progress", T1),
                condition_at(
                    "ResourceAvailable",
                    Unknown,
                    "Provisioning",
                    "in progress",
                    T1
                ),
            ]
        );
    }

    #[test]
    fn mark_unknown_keeps_ready_false_while_another_dependent_is_false() {
        let mut conditions = vec![
            condition("BindingReady", False, "BindingFailed", "taken"),
            condition(READY, False, "BindingFailed", "taken"),
            condition("ResourceAvailable", True, "", ""),
        ];
        STREAM.manage_at(&mut conditions, at(T1)).mark_unknown(
            "ResourceAvailable",
            "Provisioning",
            "in progress",
        );
        assert_eq!(
            conditions,
            [
                condition("BindingReady", False, "BindingFailed", "taken"),
                condition(READY, False, "BindingFailed", "taken"),
                condition_at(
                    "ResourceAvailable",
                    Unknown,
                    "Provisioning",
                    "in progress",
                    T1
                ),
            ]
        );
    }

    #[test]
    fn mark_unknown_makes_ready_false_if_a_dependent_is_false_but_ready_is_not() {
        let mut conditions = vec![
            condition("BindingReady", False, "BindingFailed", "taken"),
            condition(READY, Unknown, "", ""),
            condition("ResourceAvailable", True, "", ""),
        ];
        STREAM.manage_at(&mut conditions, at(T1)).mark_unknown(
            "ResourceAvailable",
            "Provisioning",
            "in progress",
        );
        assert_eq!(
            conditions,
            [
                condition("BindingReady", False, "BindingFailed", "taken"),
                condition_at(READY, False, "Provisioning", "in progress", T1),
                condition_at(
                    "ResourceAvailable",
                    Unknown,
                    "Provisioning",
                    "in progress",
                    T1
                ),
            ]
        );
    }

    #[test]
    fn marking_a_non_dependent_false_or_unknown_leaves_ready_alone() {
        let mut conditions = vec![
            condition("GatewayReady", True, "", ""),
            condition(READY, True, "", ""),
        ];
        let mut manager = KAFKA_GATEWAY.manage_at(&mut conditions, at(T1));
        manager.mark_false("Extra", "Nope", "no");
        manager.mark_unknown("Other", "Hmm", "maybe");
        assert_eq!(
            conditions,
            [
                condition_at("Extra", False, "Nope", "no", T1),
                condition("GatewayReady", True, "", ""),
                condition_at("Other", Unknown, "Hmm", "maybe", T1),
                condition(READY, True, "", ""),
            ]
        );
    }

    #[test]
    fn transition_time_moves_only_when_status_reason_message_or_severity_change() {
        let mut conditions = vec![
            condition("GatewayReady", False, "NotOwned", "taken"),
            condition(READY, False, "NotOwned", "taken"),
        ];
        let mut manager = IN_MEMORY_GATEWAY.manage_at(&mut conditions, at(T1));
        manager.mark_false("GatewayReady", "NotOwned", "taken");
        assert_eq!(
            manager.get("GatewayReady"),
            Some(&condition("GatewayReady", False, "NotOwned", "taken"))
        );
        manager.mark_false("GatewayReady", "NotOwned", "still taken");
        assert_eq!(
            manager.get("GatewayReady"),
            Some(&condition_at(
                "GatewayReady",
                False,
                "NotOwned",
                "still taken",
                T1
            ))
        );

        let mut warned = vec![Condition {
            severity: "Warning".into(),
            ..condition("GatewayReady", True, "", "")
        }];
        IN_MEMORY_GATEWAY
            .manage_at(&mut warned, at(T1))
            .mark_true("GatewayReady");
        assert_eq!(
            warned,
            [
                condition_at("GatewayReady", True, "", "", T1),
                condition_at(READY, True, "", "", T1),
            ]
        );
    }

    #[test]
    fn mark_dispatches_on_status_and_ignores_reason_for_true() {
        let mut conditions = vec![];
        let mut manager = KAFKA_GATEWAY.manage_at(&mut conditions, at(T0));
        manager.mark("GatewayReady", False, "NotOwned", "taken");
        assert_eq!(
            manager.get(READY),
            Some(&condition(READY, False, "NotOwned", "taken"))
        );
        manager.mark("GatewayReady", Unknown, "Waiting", "soon");
        assert_eq!(
            manager.get(READY),
            Some(&condition(READY, Unknown, "Waiting", "soon"))
        );
        manager.mark("GatewayReady", True, "Ignored", "ignored");
        assert_eq!(
            conditions,
            [
                condition("GatewayReady", True, "", ""),
                condition(READY, True, "", ""),
            ]
        );
    }
}
