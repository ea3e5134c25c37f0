//! `DeploymentReady` from a Deployment's conditions (docs/riff-compatibility.md §1.2).

use k8s_openapi::api::apps::v1::DeploymentCondition;

use riff_actors::resources::ConditionStatus;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::GATEWAY;
    use riff_actors::resources::condition_type::{DEPLOYMENT_READY, SERVICE_READY};
    use ConditionStatus::{False, True, Unknown};

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
        let mut manager = GATEWAY.manage(&mut conditions);
        manager.initialize();
        manager.mark_true(SERVICE_READY);
        let deployment = [
            deployment_condition("Available", "True", "MinimumReplicasAvailable", "up"),
            deployment_condition("Progressing", "True", "NewReplicaSetAvailable", "done"),
        ];
        let (status, reason, message) = deployment_ready(&deployment).unwrap();
        manager.mark(DEPLOYMENT_READY, status, &reason, &message);
        assert!(manager.is_happy());
    }
}
