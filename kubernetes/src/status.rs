//! Writing a resource's status back: only when it differs from what was read, never while the
//! resource is being deleted (docs/riff-compatibility.md §1.1).

use kube::api::PostParams;
use kube::{Api, ResourceExt};

use super::context::ControllerContext;
use super::error::{ReconcileError, Result};
use super::owned::{Child, Parent};

/// Replaces `object`'s status if it differs from `read`'s; records `StatusUpdated` or
/// `StatusUpdateFailed`. Returns whether it wrote.
pub async fn write<K: Child>(context: &ControllerContext, read: &K, object: &K) -> Result<bool> {
    let status = |k: &K| serde_json::to_value(k).ok().map(|v| v["status"].clone());
    if read.meta().deletion_timestamp.is_some() || status(read) == status(object) {
        return Ok(false);
    }
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(context.client.clone(), &namespace);
    let parent = Parent::of(read);
    let name = object.name_any();
    match api
        .replace_status(&name, &PostParams::default(), object)
        .await
    {
        Ok(_) => {
            let note = format!("Updated status of {} {name:?}", K::kind(&()));
            context
                .event(parent.reference(), false, "StatusUpdated", note)
                .await;
            Ok(true)
        }
        Err(error) => {
            let note = format!("Failed to update status: {error}");
            context
                .event(parent.reference(), true, "StatusUpdateFailed", note)
                .await;
            let what = format!("{} {namespace}/{name}", K::kind(&()));
            Err(ReconcileError::api("update status", what, error))
        }
    }
}
