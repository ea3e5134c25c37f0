//! The reconcilers of the five kinds (docs/riff-compatibility.md §2): one pass brings a resource's children
//! to the desired state and reports it in the resource's status.
//!
//! Every pass applies riff's defaulting, validates (an invalid resource is reported in its
//! status and an Event, with the field path, and nothing else is done), runs the kind's steps,
//! sets `observedGeneration` when they all succeeded (or records a `ReconcileFailed` Event when
//! configuration or provisioning failed), and writes the status if it changed.

mod concrete_gateway;
mod gateway;
mod processor;
mod stream;

use std::future::Future;

use riff_actors::resources::condition_type::DEPLOYMENT_READY;
use riff_actors::resources::reason::{INVALID, RECONCILE_FAILED};
use riff_actors::resources::{
    ready, ready_summary, Admission, CommonStatus, Condition, ConditionStatus,
};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::TypedLocalObjectReference;

use super::conditions::{deployment_ready, ConditionSet};
use super::context::ControllerContext;
use super::error::{ReconcileError, Result};
use super::owned::{Child, Parent};
use super::status;

/// A kind the controller reconciles.
pub trait Reconciled: Child + Admission {
    /// Its living condition set.
    const CONDITIONS: ConditionSet;

    /// Its conditions and `observedGeneration` (the status is created if absent).
    fn common(&mut self) -> &mut CommonStatus;

    /// How soon to reconcile it again when nothing changes (what it watches cannot tell);
    /// never by default.
    fn resync(&self) -> Option<std::time::Duration> {
        None
    }

    /// The kind's steps: reconciles children and fills in the status of `object` (defaulted and
    /// valid, conditions initialized).
    fn steps(context: &ControllerContext, object: &mut Self) -> impl Future<Output = Result<()>>;
}

/// What a pass left the resource as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The Ready summary: `Ready`, a reason, or `Unknown`.
    pub ready: String,
    /// The Ready condition's message.
    pub message: String,
    /// Whether the status was written.
    pub status_written: bool,
    /// When to reconcile again unprompted ([`Reconciled::resync`]).
    pub resync: Option<std::time::Duration>,
}

/// One reconcile pass of `read` (as read from the API). A failed pass still writes the status
/// (without `observedGeneration`) and returns the error, to be retried with backoff.
pub async fn reconcile<K: Reconciled>(context: &ControllerContext, read: &K) -> Result<Outcome> {
    let mut object = read.clone();
    object.apply_defaults();
    K::CONDITIONS
        .manage(&mut object.common().conditions)
        .initialize();
    let result = match object.validate() {
        Ok(()) => K::steps(context, &mut object).await,
        Err(errors) => {
            let first = K::CONDITIONS.dependents()[0];
            let message = errors.to_string();
            let conditions = &mut object.common().conditions;
            K::CONDITIONS
                .manage(conditions)
                .mark_false(first, INVALID, &message);
            if ready_of(read) != ready_of(&object) {
                let parent = Parent::of(read);
                context
                    .event(parent.reference(), true, INVALID, message)
                    .await;
            }
            Ok(())
        }
    };
    match &result {
        Ok(()) => object.common().observed_generation = read.meta().generation,
        Err(error @ (ReconcileError::Configuration(_) | ReconcileError::Provision(_))) => {
            // Failed child and status writes have their own Events; these would only be logged.
            let parent = Parent::of(read);
            let note = error.to_string();
            context
                .event(parent.reference(), true, RECONCILE_FAILED, note)
                .await;
        }
        Err(_) => {}
    }
    let written = status::write(context, read, &object).await;
    result?;
    let status_written = written?;
    let conditions = &object.common().conditions;
    Ok(Outcome {
        ready: ready_summary(conditions),
        message: ready(conditions)
            .map(|c| c.message.clone())
            .unwrap_or_default(),
        status_written,
        resync: object.resync(),
    })
}

/// The Ready condition of a resource, if any.
fn ready_of<K: Reconciled>(object: &K) -> Option<Condition> {
    ready(&object.clone().common().conditions).cloned()
}

/// A child's Ready condition propagated to the parent's `dependent` (status, reason and
/// message); nothing when the child has no Ready condition yet.
fn propagate_ready(
    set: &ConditionSet,
    conditions: &mut Vec<Condition>,
    dependent: &str,
    child: &[Condition],
) {
    if let Some(ready) = ready(child) {
        set.manage(conditions)
            .mark(dependent, ready.status, &ready.reason, &ready.message);
    }
}

/// The `DeploymentReady` condition of `set` from a child Deployment's conditions (docs/riff-compatibility.md §1.2);
/// nothing when the Deployment reports neither Available nor Progressing yet.
fn propagate_deployment(
    set: &ConditionSet,
    conditions: &mut Vec<Condition>,
    deployment: &Deployment,
) {
    let reported = deployment
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref());
    if let Some((ready, reason, message)) = deployment_ready(reported.unwrap_or_default()) {
        set.manage(conditions)
            .mark(DEPLOYMENT_READY, ready, &reason, &message);
    }
}

/// The replica count of an existing Deployment, kept so that whoever scales it owns it.
fn current_replicas(existing: Option<&Deployment>) -> Option<i32> {
    existing.and_then(|d| d.spec.as_ref()?.replicas)
}

/// A typed reference to a child, as riff's statuses hold them (`api_group` `None` for core and
/// apps kinds).
fn reference(api_group: Option<&str>, kind: &str, name: &str) -> TypedLocalObjectReference {
    TypedLocalObjectReference {
        api_group: api_group.map(str::to_owned),
        kind: kind.to_owned(),
        name: name.to_owned(),
    }
}

/// Whether a resource's Ready condition is True.
fn is_ready(conditions: &[Condition]) -> bool {
    ready(conditions).is_some_and(|c| c.status == ConditionStatus::True)
}

/// The ConfigMap `name` in the system namespace, or a configuration error naming it.
async fn system_config_map(
    context: &ControllerContext,
    name: &str,
) -> Result<k8s_openapi::api::core::v1::ConfigMap> {
    let api = kube::Api::namespaced(context.client.clone(), &context.system_namespace);
    let what = format!("ConfigMap {}/{name}", context.system_namespace);
    api.get_opt(name)
        .await
        .map_err(|e| ReconcileError::api("get", what.clone(), e))?
        .ok_or_else(|| ReconcileError::Configuration(format!("{what} not found")))
}
