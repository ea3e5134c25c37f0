//! Keeping one owned child in its desired state (riff's child sub-reconcilers, docs/riff-compatibility.md §2.1): create
//! it with a controller owner reference, update it only when it differs, delete it when it is no
//! longer desired, and report a same-named object owned by someone else. Every change, and every
//! failed change, is recorded as an Event on the parent.

use std::fmt::Debug;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::context::ControllerContext;
use super::error::{is_already_exists, ReconcileError, Result};
use super::stored;

/// What became of a child.
#[derive(Clone, Debug, PartialEq)]
pub enum Owned<C> {
    /// The child exists as desired.
    Present(C),
    /// No child exists (none is desired).
    Absent,
    /// An object of the desired name exists but is not controlled by the parent.
    NotOwned(String),
}

/// The parent of children: who owns them and where Events about them go.
pub struct Parent {
    namespace: String,
    owner: OwnerReference,
    reference: ObjectReference,
}

impl Parent {
    /// The parent `object`, which must have a namespace, name and uid (it was read from the API).
    pub fn of<P: Resource<DynamicType = ()>>(object: &P) -> Self {
        Parent {
            namespace: object.namespace().unwrap_or_default(),
            owner: object
                .controller_owner_ref(&())
                .expect("objects read from the API have a name and a uid"),
            reference: object.object_ref(&()),
        }
    }

    /// The parent as an Event's `regarding`.
    pub fn reference(&self) -> &ObjectReference {
        &self.reference
    }

    fn controls(&self, child: &impl Resource) -> bool {
        child
            .owner_references()
            .iter()
            .any(|o| o.uid == self.owner.uid && o.controller == Some(true))
    }
}

/// A kind of child: a namespaced object the controller creates, compares and replaces.
pub trait Child:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
{
}

impl<C> Child for C where
    C: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned
{
}

/// Syncs the child named `name` (a Gateway, a binding ConfigMap or Secret) to `desired`.
pub async fn named<C: Child>(
    context: &ControllerContext,
    parent: &Parent,
    name: &str,
    desired: Option<C>,
) -> Result<Owned<C>> {
    let api: Api<C> = Api::namespaced(context.client.clone(), &parent.namespace);
    let existing = api
        .get_opt(name)
        .await
        .map_err(|e| ReconcileError::api("get", what::<C>(parent, name), e))?;
    match (existing, desired) {
        (None, None) => Ok(Owned::Absent),
        (Some(existing), desired) if !parent.controls(&existing) => Ok(match desired {
            Some(_) => Owned::NotOwned(name.to_owned()),
            None => Owned::Absent,
        }),
        (Some(existing), None) => delete(context, parent, &api, existing).await,
        (None, Some(desired)) => create(context, parent, &api, desired).await,
        (Some(existing), Some(desired)) => update(context, parent, &api, existing, desired).await,
    }
}

/// Syncs the child with a generated name found by label `key=value` (a Service, Deployment or
/// ScaledObject). `desired` is given the existing child, if any, to keep what others own in it
/// (replicas, cluster IP). More than one controlled child: all are deleted, as riff did.
pub async fn generated<C: Child>(
    context: &ControllerContext,
    parent: &Parent,
    (key, value): (&str, &str),
    desired: impl FnOnce(Option<&C>) -> Option<C>,
) -> Result<Owned<C>> {
    let api: Api<C> = Api::namespaced(context.client.clone(), &parent.namespace);
    let selector = format!("{key}={value}");
    let list = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| ReconcileError::api("list", what::<C>(parent, &selector), e))?;
    let mut controlled: Vec<C> = list
        .items
        .into_iter()
        .filter(|c| parent.controls(c))
        .collect();
    if controlled.len() > 1 {
        for extra in controlled.drain(..) {
            delete(context, parent, &api, extra).await?;
        }
    }
    let existing = controlled.pop();
    let desired = desired(existing.as_ref());
    match (existing, desired) {
        (None, None) => Ok(Owned::Absent),
        (Some(existing), None) => delete(context, parent, &api, existing).await,
        (None, Some(desired)) => create(context, parent, &api, desired).await,
        (Some(existing), Some(desired)) => update(context, parent, &api, existing, desired).await,
    }
}

async fn create<C: Child>(
    context: &ControllerContext,
    parent: &Parent,
    api: &Api<C>,
    mut desired: C,
) -> Result<Owned<C>> {
    desired.meta_mut().owner_references = Some(vec![parent.owner.clone()]);
    let kind = C::kind(&());
    match api.create(&PostParams::default(), &desired).await {
        Ok(created) => {
            let note = format!("Created {kind} {:?}", created.name_any());
            context
                .event(&parent.reference, false, "Created", note)
                .await;
            Ok(Owned::Present(created))
        }
        Err(error) => {
            let name = desired.meta().name.clone().unwrap_or_default();
            if is_already_exists(&error) && !name.is_empty() {
                // Created since we looked: the next pass sees who owns it.
                return Err(ReconcileError::api(
                    "create",
                    what::<C>(parent, &name),
                    error,
                ));
            }
            let note = format!("Failed to create {kind} {name:?}: {error}");
            context
                .event(&parent.reference, true, "CreationFailed", note)
                .await;
            Err(ReconcileError::api(
                "create",
                what::<C>(parent, &name),
                error,
            ))
        }
    }
}

async fn update<C: Child>(
    context: &ControllerContext,
    parent: &Parent,
    api: &Api<C>,
    existing: C,
    desired: C,
) -> Result<Owned<C>> {
    let Some(merged) = merge(&existing, &desired, &parent.owner) else {
        return Ok(Owned::Present(existing));
    };
    let name = existing.name_any();
    let kind = C::kind(&());
    match api.replace(&name, &PostParams::default(), &merged).await {
        Ok(updated) => {
            let note = format!("Updated {kind} {name:?}");
            context
                .event(&parent.reference, false, "Updated", note)
                .await;
            Ok(Owned::Present(updated))
        }
        Err(error) => {
            let note = format!("Failed to update {kind} {name:?}: {error}");
            context
                .event(&parent.reference, true, "UpdateFailed", note)
                .await;
            Err(ReconcileError::api(
                "update",
                what::<C>(parent, &name),
                error,
            ))
        }
    }
}

async fn delete<C: Child>(
    context: &ControllerContext,
    parent: &Parent,
    api: &Api<C>,
    existing: C,
) -> Result<Owned<C>> {
    let name = existing.name_any();
    let kind = C::kind(&());
    match api.delete(&name, &DeleteParams::background()).await {
        Ok(_) => {
            let note = format!("Deleted {kind} {name:?}");
            context
                .event(&parent.reference, false, "Deleted", note)
                .await;
            Ok(Owned::Absent)
        }
        Err(error) => {
            let note = format!("Failed to delete {kind} {name:?}: {error}");
            context
                .event(&parent.reference, true, "DeleteFailed", note)
                .await;
            Err(ReconcileError::api(
                "delete",
                what::<C>(parent, &name),
                error,
            ))
        }
    }
}

/// `existing` brought to `desired`, or `None` when it already is: its labels equal the desired
/// ones, it is controlled by the parent, and every field the controller sets (everything but
/// metadata and status) holds the desired value, as [`stored::holds`] compares them. On update,
/// fields the API server defaulted are replaced by the desired ones, like riff's reconcilers did.
fn merge<C: Child>(existing: &C, desired: &C, owner: &OwnerReference) -> Option<C> {
    let actual = serde_json::to_value(existing).ok()?;
    let wanted = serde_json::to_value(desired).ok()?;
    let owned = existing
        .owner_references()
        .iter()
        .any(|o| o.uid == owner.uid);
    let same_labels = existing.meta().labels.clone().unwrap_or_default()
        == desired.meta().labels.clone().unwrap_or_default();
    let content = |value: &Value| -> serde_json::Map<String, Value> {
        let mut map = value.as_object().cloned().unwrap_or_default();
        for key in ["apiVersion", "kind", "metadata", "status"] {
            map.remove(key);
        }
        map
    };
    let (actual_content, wanted_content) = (content(&actual), content(&wanted));
    if owned && same_labels && stored::holds(&actual_content, &wanted_content) {
        return None;
    }
    let mut merged = actual;
    let object = merged.as_object_mut()?;
    for key in actual_content.keys() {
        if !wanted_content.contains_key(key) {
            object.remove(key);
        }
    }
    object.extend(wanted_content);
    let mut merged: C = serde_json::from_value(merged).ok()?;
    merged.meta_mut().labels = desired.meta().labels.clone();
    if !owned {
        merged
            .meta_mut()
            .owner_references
            .get_or_insert_with(Vec::new)
            .push(owner.clone());
    }
    Some(merged)
}

/// `Kind namespace/name` of a child, for errors.
fn what<C: Child>(parent: &Parent, name: &str) -> String {
    format!("{} {}/{name}", C::kind(&()), parent.namespace)
}
