//! riff's knative-style "living" condition sets (docs/riff-compatibility.md §1.1, §1.2 and §7).
//!
//! Every kind has a happy condition, `Ready`, summarising its dependent conditions. A
//! [`ConditionSet`] names them; [`ConditionSet::manage`] wraps a status' conditions in a
//! [`ConditionManager`] that applies riff's rules:
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

use k8s_openapi::api::apps::v1::DeploymentCondition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::resources::{Condition, ConditionStatus};

/// The happy condition type of every kind.
pub const READY: &str = "Ready";

/// A kind's happy condition, [`READY`], and the dependent condition types it summarises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConditionSet {
    dependents: &'static [&'static str],
}

/// Stream: the topic was provisioned and the binding ConfigMap/Secret exist (docs/riff-compatibility.md §1.6).
pub const STREAM: ConditionSet = ConditionSet::new(&["ResourceAvailable", "BindingReady"]);
/// Processor: its streams, Deployment and KEDA ScaledObject (docs/riff-compatibility.md §1.7).
pub const PROCESSOR: ConditionSet = ConditionSet::new(&[
    "StreamsReady",
    "DeploymentReady",
    "ScaledObjectReady",
    "DeliveryReady",
]);
/// The abstract Gateway: its Deployment and Service (docs/riff-compatibility.md §1.2).
pub const GATEWAY: ConditionSet = ConditionSet::new(&["DeploymentReady", "ServiceReady"]);
/// KafkaGateway: mirrors its child Gateway (docs/riff-compatibility.md §1.3).
pub const KAFKA_GATEWAY: ConditionSet = ConditionSet::new(&["GatewayReady"]);
/// InMemoryGateway: mirrors its child Gateway (docs/riff-compatibility.md §1.4).
pub const IN_MEMORY_GATEWAY: ConditionSet = ConditionSet::new(&["GatewayReady"]);

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

/// A status' conditions under the rules of a [`ConditionSet`].
#[derive(Debug)]
pub struct ConditionManager<'a> {
    set: &'a ConditionSet,
    conditions: &'a mut Vec<Condition>,
    now: Time,
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

/// docs/riff-compatibility.md §1.2's `DeploymentReady` from a Deployment's conditions: `None` (change nothing) unless
/// both `Available` and `Progressing` are present; `Unknown` with Progressing's reason and
/// message while `Progressing=True` and `Available=False`; otherwise Available's status, reason
/// and message. An unrecognised Available status also yields `None`.
pub fn deployment_ready(
    deployment_conditions: &[DeploymentCondition],
) -> Option<(ConditionStatus, String, String)> {
    let last = |type_: &str| deployment_conditions.iter().rfind(|c| c.type_ == type_);
    let (available, progressing) = (last("Available")?, last("Progressing")?);
    let reason_and_message = |c: &DeploymentCondition| {
        (
            c.reason.clone().unwrap_or_default(),
            c.message.clone().unwrap_or_default(),
        )
    };
    if progressing.status == "True" && available.status == "False" {
        let (reason, message) = reason_and_message(progressing);
        return Some((ConditionStatus::Unknown, reason, message));
    }
    let status = match available.status.as_str() {
        "True" => ConditionStatus::True,
        "False" => ConditionStatus::False,
        "Unknown" => ConditionStatus::Unknown,
        _ => return None,
    };
    let (reason, message) = reason_and_message(available);
    Some((status, reason, message))
}

/// The CLI's one-word status of a resource (docs/riff-compatibility.md §7, "Status summary"): `Ready` when Ready is
/// `True`, its reason (or `not-Ready`) when `False`, the raw status otherwise, and `<unknown>`
/// without a Ready condition.
pub fn ready_summary(conditions: &[Condition]) -> String {
    match find(conditions, READY) {
        None => "<unknown>".to_owned(),
        Some(ready) => match ready.status {
            ConditionStatus::True => READY.to_owned(),
            ConditionStatus::False if ready.reason.is_empty() => format!("not-{READY}"),
            ConditionStatus::False => ready.reason.clone(),
            ConditionStatus::Unknown => "Unknown".to_owned(),
        },
    }
}

fn find<'c>(conditions: &'c [Condition], type_: &str) -> Option<&'c Condition> {
    conditions.iter().find(|condition| condition.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn deployment_condition(
        type_: &str,
        status: &str,
        reason: &str,
        message: &str,
    ) -> DeploymentCondition {
        DeploymentCondition {
            type_: type_.into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            ..DeploymentCondition::default()
        }
    }

    #[test]
    fn deployment_ready_is_unknown_from_progressing_while_progressing_and_unavailable() {
        let conditions = [
            deployment_condition("Available", "False", "MinimumReplicasUnavailable", "down"),
            deployment_condition("Progressing", "True", "ReplicaSetUpdated", "rolling"),
        ];
        assert_eq!(
            deployment_ready(&conditions),
            Some((Unknown, "ReplicaSetUpdated".into(), "rolling".into()))
        );
    }

    #[test]
    fn deployment_ready_otherwise_mirrors_available() {
        let progressing =
            deployment_condition("Progressing", "True", "NewReplicaSetAvailable", "done");
        let stalled =
            deployment_condition("Progressing", "False", "ProgressDeadlineExceeded", "stuck");
        let available = |status| deployment_condition("Available", status, "Why", "what");
        assert_eq!(
            deployment_ready(&[available("True"), progressing.clone()]),
            Some((True, "Why".into(), "what".into()))
        );
        assert_eq!(
            deployment_ready(&[stalled, available("False")]),
            Some((False, "Why".into(), "what".into()))
        );
        assert_eq!(
            deployment_ready(&[available("Unknown"), progressing.clone()]),
            Some((Unknown, "Why".into(), "what".into()))
        );
        let bare = DeploymentCondition {
            type_: "Available".into(),
            status: "True".into(),
            ..DeploymentCondition::default()
        };
        assert_eq!(
            deployment_ready(&[bare, progressing]),
            Some((True, String::new(), String::new()))
        );
    }

    #[test]
    fn deployment_ready_changes_nothing_without_both_conditions() {
        let available = deployment_condition("Available", "True", "", "");
        let progressing = deployment_condition("Progressing", "True", "", "");
        assert_eq!(deployment_ready(&[]), None);
        assert_eq!(deployment_ready(&[available]), None);
        assert_eq!(deployment_ready(&[progressing]), None);
    }

    #[test]
    fn deployment_ready_applies_through_mark() {
        let mut conditions = vec![];
        let mut manager = GATEWAY.manage_at(&mut conditions, at(T0));
        manager.initialize();
        manager.mark_true("ServiceReady");
        let deployment = [
            deployment_condition("Available", "True", "MinimumReplicasAvailable", "up"),
            deployment_condition("Progressing", "True", "NewReplicaSetAvailable", "done"),
        ];
        let (status, reason, message) = deployment_ready(&deployment).unwrap();
        manager.mark("DeploymentReady", status, &reason, &message);
        assert!(manager.is_happy());
    }

    #[test]
    fn ready_summary_follows_the_cli() {
        assert_eq!(ready_summary(&[]), "<unknown>");
        assert_eq!(
            ready_summary(&[condition("StreamsReady", True, "", "")]),
            "<unknown>"
        );
        assert_eq!(
            ready_summary(&[condition(READY, True, "Ignored", "")]),
            "Ready"
        );
        assert_eq!(
            ready_summary(&[condition(READY, False, "ProvisionFailed", "x")]),
            "ProvisionFailed"
        );
        assert_eq!(
            ready_summary(&[condition(READY, False, "", "x")]),
            "not-Ready"
        );
        assert_eq!(
            ready_summary(&[condition(READY, Unknown, "Waiting", "")]),
            "Unknown"
        );
    }
}
