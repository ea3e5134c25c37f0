//! The object store: every write assigns metadata, bumps the global resourceVersion and is
//! recorded as a watch event; deletes honour finalizers and garbage-collect dependents.

use crate::logs::PodLogs;
use crate::patch::{json_patch, merge_patch};
use crate::selector::Selector;
use crate::status::{ApiError, ApiResult};
use crate::timestamp::now_rfc3339;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// How many watch events are kept for replay; older resourceVersions get 410 Expired.
const HISTORY_LIMIT: usize = 100_000;

/// A resource type: API version (`v1`, `apps/v1`) and plural name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resource {
    /// `v1` for the core group, `group/version` otherwise.
    pub api_version: String,
    /// Plural resource name, e.g. `deployments`.
    pub plural: String,
}

impl Resource {
    /// A resource of `api_version` named `plural`.
    pub fn new(api_version: &str, plural: &str) -> Resource {
        Resource {
            api_version: api_version.into(),
            plural: plural.into(),
        }
    }

    /// `plural` for the core group, `plural.group` otherwise, as used in error messages.
    pub fn qualified(&self) -> String {
        match self.api_version.split_once('/') {
            Some((group, _)) => format!("{}.{group}", self.plural),
            None => self.plural.clone(),
        }
    }
}

/// The type of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `ADDED`
    Added,
    /// `MODIFIED`
    Modified,
    /// `DELETED`
    Deleted,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One recorded change.
#[derive(Debug, Clone)]
pub struct Event {
    /// The resourceVersion this change created.
    pub rv: u64,
    /// The resource type of the object.
    pub resource: Resource,
    /// ADDED, MODIFIED or DELETED.
    pub kind: EventType,
    /// The object after the change (before removal, for DELETED).
    pub object: Arc<Value>,
    /// The object before a MODIFIED change.
    pub previous: Option<Arc<Value>>,
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The main resource: everything but `status`.
    Main,
    /// The `status` subresource: only `status`.
    Status,
    /// Test setup (`put_object`): everything, including `status`.
    Direct,
}

/// The patch formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// JSON merge patch, also used for strategic merge patch.
    Merge,
    /// JSON patch.
    Json,
    /// Server-side apply, treated as a merge patch that may create.
    Apply,
}

/// The stored objects, the watch history and the pod logs.
#[derive(Debug, Clone, Default)]
pub struct Store {
    rv: u64,
    objects: HashMap<Resource, BTreeMap<(String, String), Value>>,
    /// The uids of the stored objects: whether an owner still exists, without a scan.
    uids: HashSet<String>,
    kinds: HashMap<Resource, String>,
    history: VecDeque<Event>,
    /// Pod container logs.
    pub logs: PodLogs,
}

/// The watch history no longer reaches back to the requested resourceVersion.
#[derive(Debug)]
pub struct Expired;

impl Store {
    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// The stored object, if any (`namespace` is empty for cluster-scoped objects).
    pub fn get(&self, resource: &Resource, namespace: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(resource)?
            .get(&(namespace.to_string(), name.to_string()))
    }

    /// Like [`Store::get`] but a NotFound error when absent.
    pub fn get_or_404(&self, resource: &Resource, namespace: &str, name: &str) -> ApiResult<Value> {
        self.get(resource, namespace, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&resource.qualified(), name))
    }

    /// Matching objects in `namespace` (all namespaces when `None`), sorted by namespace and name.
    pub fn list(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        selector: &Selector,
    ) -> Vec<Value> {
        self.objects
            .get(resource)
            .into_iter()
            .flat_map(|objects| objects.iter())
            .filter(|((ns, _), object)| {
                namespace.is_none_or(|n| n == ns) && selector.matches(object)
            })
            .map(|(_, object)| object.clone())
            .collect()
    }

    /// The kind of `resource`: learnt from created objects, else from a table of well-known kinds.
    pub fn kind_of(&self, resource: &Resource) -> Option<String> {
        self.kinds
            .get(resource)
            .cloned()
            .or_else(|| known_kind(&resource.plural).map(String::from))
    }

    /// Events with a resourceVersion above `cursor`.
    pub fn events_after(&self, cursor: u64) -> Result<impl Iterator<Item = &Event>, Expired> {
        let first = self.history.front().map_or(self.rv + 1, |e| e.rv);
        if cursor + 1 < first {
            return Err(Expired);
        }
        let skip = usize::try_from(cursor + 1 - first).unwrap_or(usize::MAX);
        Ok(self.history.iter().skip(skip))
    }

    /// Creates an object (POST on a collection, or `put_object` of a new name).
    pub fn create(
        &mut self,
        resource: &Resource,
        namespace: &str,
        body: Value,
        mode: Mode,
    ) -> ApiResult<Value> {
        let Value::Object(mut object) = body else {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        };
        let mut metadata = take_metadata(&mut object)?;
        let body_namespace = str_of(&metadata, "namespace").to_string();
        if !namespace.is_empty() && !body_namespace.is_empty() && body_namespace != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let namespace = if namespace.is_empty() {
            body_namespace
        } else {
            namespace.to_string()
        };
        let name = match (str_of(&metadata, "name"), str_of(&metadata, "generateName")) {
            ("", "") => {
                return Err(ApiError::invalid(format!(
                "{} is invalid: metadata.name: Required value: name or generateName is required",
                resource.qualified()
            )))
            }
            ("", prefix) => loop {
                let candidate = format!("{prefix}{}", random_suffix());
                if self.get(resource, &namespace, &candidate).is_none() {
                    break candidate;
                }
            },
            (name, _) => name.to_string(),
        };
        if self.get(resource, &namespace, &name).is_some() {
            return Err(ApiError::already_exists(&resource.qualified(), &name));
        }
        self.fill_type(resource, &mut object, None);
        metadata.insert("name".into(), json!(name));
        if namespace.is_empty() {
            metadata.remove("namespace");
        } else {
            metadata.insert("namespace".into(), json!(namespace));
        }
        metadata.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        metadata.insert("creationTimestamp".into(), json!(now_rfc3339()));
        metadata.insert("generation".into(), json!(1));
        metadata.remove("resourceVersion");
        if mode != Mode::Direct {
            metadata.remove("deletionTimestamp");
            metadata.remove("deletionGracePeriodSeconds");
            object.remove("status");
        }
        object.insert("metadata".into(), Value::Object(metadata));
        let created = self.commit(
            resource,
            &namespace,
            &name,
            Value::Object(object),
            EventType::Added,
        );
        // Kubernetes' garbage collector also deletes a dependent created after every one of its
        // owners was gone (a controller's pass still running when its resource was deleted).
        if self.orphaned(&created) {
            let (removed, gone) = self.delete_object(resource, &namespace, &name, created.clone());
            if gone {
                self.collect_garbage(&removed);
            }
        }
        Ok(created)
    }

    /// Whether `object` has owners and none of them exists.
    fn orphaned(&self, object: &Value) -> bool {
        let owners: Vec<&str> = (object["metadata"]["ownerReferences"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|r| r["uid"].as_str())
            .collect();
        !owners.is_empty() && !owners.iter().any(|uid| self.uids.contains(*uid))
    }

    /// Replaces an object (PUT on an item or its `status`, or `put_object` of an existing name).
    pub fn update(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        body: Value,
        mode: Mode,
    ) -> ApiResult<Value> {
        let old = self.get_or_404(resource, namespace, name)?;
        let Value::Object(mut object) = body else {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        };
        let mut metadata = take_metadata(&mut object)?;
        let body_name = str_of(&metadata, "name");
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let body_namespace = str_of(&metadata, "namespace");
        if !body_namespace.is_empty() && body_namespace != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let old_rv = old["metadata"]["resourceVersion"].clone();
        let body_rv = str_of(&metadata, "resourceVersion");
        if !body_rv.is_empty() && Some(body_rv) != old_rv.as_str() {
            return Err(ApiError::conflict(
                &resource.qualified(),
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        let old_metadata = old["metadata"].as_object().cloned().unwrap_or_default();
        let mut new = match mode {
            Mode::Status => {
                let mut new = old.as_object().cloned().unwrap_or_default();
                set_or_remove(&mut new, "status", object.remove("status"));
                metadata = old_metadata.clone();
                new
            }
            Mode::Main | Mode::Direct => {
                let kept: &[&str] = if mode == Mode::Main {
                    &[
                        "uid",
                        "creationTimestamp",
                        "deletionTimestamp",
                        "deletionGracePeriodSeconds",
                    ]
                } else {
                    &["uid", "creationTimestamp"]
                };
                for key in kept {
                    set_or_remove(&mut metadata, key, old_metadata.get(*key).cloned());
                }
                if mode == Mode::Main {
                    set_or_remove(&mut object, "status", old.get("status").cloned());
                }
                self.fill_type(resource, &mut object, Some(&old));
                object
            }
        };
        metadata.insert("name".into(), json!(name));
        if namespace.is_empty() {
            metadata.remove("namespace");
        } else {
            metadata.insert("namespace".into(), json!(namespace));
        }
        metadata.insert("resourceVersion".into(), old_rv);
        let generation = old_metadata
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        new.insert("metadata".into(), Value::Object(metadata));
        let changed = old.as_object().is_none_or(|old| {
            without_metadata_and_status(&new) != without_metadata_and_status(old)
        });
        new["metadata"]["generation"] = json!(generation + i64::from(changed));
        let new = Value::Object(new);
        if new == old {
            return Ok(old);
        }
        let stored = self.commit(resource, namespace, name, new, EventType::Modified);
        if is_being_deleted(&stored) && !has_finalizers(&stored) {
            self.remove_and_collect(resource, namespace, name);
        }
        Ok(stored)
    }

    /// Patches an object or its `status`; apply patches create absent objects. Returns the object
    /// and whether it was created.
    pub fn patch(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        kind: PatchKind,
        patch: &Value,
        mode: Mode,
    ) -> ApiResult<(Value, bool)> {
        let Some(old) = self.get(resource, namespace, name).cloned() else {
            if kind == PatchKind::Apply && mode == Mode::Main {
                let mut body = json!({});
                merge_patch(&mut body, patch);
                body["metadata"]["name"] = json!(name);
                return self
                    .create(resource, namespace, body, mode)
                    .map(|o| (o, true));
            }
            return Err(ApiError::not_found(&resource.qualified(), name));
        };
        let mut patched = old;
        match kind {
            PatchKind::Merge | PatchKind::Apply => {
                if !patch.is_object() {
                    return Err(ApiError::bad_request("a merge patch must be a JSON object"));
                }
                merge_patch(&mut patched, patch);
            }
            PatchKind::Json => json_patch(&mut patched, patch)?,
        }
        self.update(resource, namespace, name, patched, mode)
            .map(|o| (o, false))
    }

    /// Deletes an object: marks it with `deletionTimestamp` while it has finalizers, otherwise
    /// removes it and garbage-collects its dependents (unless `options` orphans them).
    pub fn delete(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        options: &Value,
    ) -> ApiResult<Value> {
        let old = self.get_or_404(resource, namespace, name)?;
        for key in ["uid", "resourceVersion"] {
            let expected = options["preconditions"][key].as_str().unwrap_or_default();
            if !expected.is_empty() && old["metadata"][key].as_str() != Some(expected) {
                return Err(ApiError::conflict(
                    &resource.qualified(),
                    name,
                    &format!("Precondition failed: {key} in precondition: {expected}"),
                ));
            }
        }
        let orphan =
            options["propagationPolicy"] == "Orphan" || options["orphanDependents"] == true;
        let (object, removed) = self.delete_object(resource, namespace, name, old);
        if removed && !orphan {
            self.collect_garbage(&object);
        }
        Ok(object)
    }

    /// Deletes every matching object as [`Store::delete`] does; returns them.
    pub fn delete_collection(
        &mut self,
        resource: &Resource,
        namespace: Option<&str>,
        selector: &Selector,
    ) -> Vec<Value> {
        let matching = self.list(resource, namespace, selector);
        let mut deleted = Vec::new();
        for object in matching {
            let (namespace, name) = namespace_and_name(&object);
            if let Ok(object) = self.delete(resource, &namespace, &name, &Value::Null) {
                deleted.push(object);
            }
        }
        deleted
    }

    /// Fills `apiVersion` and `kind` when absent, and remembers the kind of `resource`.
    fn fill_type(
        &mut self,
        resource: &Resource,
        object: &mut Map<String, Value>,
        old: Option<&Value>,
    ) {
        let fallback_kind = old
            .and_then(|o| o["kind"].as_str().map(String::from))
            .or_else(|| self.kind_of(resource))
            .unwrap_or_else(|| guess_kind(&resource.plural));
        if str_of(object, "apiVersion").is_empty() {
            object.insert("apiVersion".into(), json!(resource.api_version));
        }
        if str_of(object, "kind").is_empty() {
            object.insert("kind".into(), json!(fallback_kind));
        }
        let kind = str_of(object, "kind").to_string();
        self.kinds.insert(resource.clone(), kind);
    }

    /// Stores `object` with a new resourceVersion and records the event.
    fn commit(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        mut object: Value,
        kind: EventType,
    ) -> Value {
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let previous = self
            .objects
            .entry(resource.clone())
            .or_default()
            .insert((namespace.into(), name.into()), object.clone());
        if let Some(uid) = previous
            .as_ref()
            .and_then(|p| p["metadata"]["uid"].as_str())
        {
            self.uids.remove(uid);
        }
        if let Some(uid) = object["metadata"]["uid"].as_str() {
            self.uids.insert(uid.to_owned());
        }
        self.record(resource, kind, object.clone(), previous);
        object
    }

    fn record(
        &mut self,
        resource: &Resource,
        kind: EventType,
        object: Value,
        previous: Option<Value>,
    ) {
        self.history.push_back(Event {
            rv: self.rv,
            resource: resource.clone(),
            kind,
            object: Arc::new(object),
            previous: previous.map(Arc::new),
        });
        if self.history.len() > HISTORY_LIMIT {
            self.history.pop_front();
        }
    }

    /// Removes the object, recording DELETED; returns it.
    fn remove(&mut self, resource: &Resource, namespace: &str, name: &str) -> Option<Value> {
        let key = (namespace.to_string(), name.to_string());
        let mut object = self.objects.get_mut(resource)?.remove(&key)?;
        if let Some(uid) = object["metadata"]["uid"].as_str() {
            self.uids.remove(uid);
        }
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.record(resource, EventType::Deleted, object.clone(), None);
        if resource.api_version == "v1" && resource.plural == "pods" {
            self.logs.remove_pod(namespace, name);
        }
        Some(object)
    }

    fn remove_and_collect(&mut self, resource: &Resource, namespace: &str, name: &str) {
        if let Some(removed) = self.remove(resource, namespace, name) {
            self.collect_garbage(&removed);
        }
    }

    /// Marks (finalizers present) or removes `old`; returns the result and whether it was removed.
    fn delete_object(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        old: Value,
    ) -> (Value, bool) {
        if has_finalizers(&old) {
            if is_being_deleted(&old) {
                return (old, false);
            }
            let mut marked = old;
            marked["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            return (
                self.commit(resource, namespace, name, marked, EventType::Modified),
                false,
            );
        }
        match self.remove(resource, namespace, name) {
            Some(removed) => (removed, true),
            None => (old, false),
        }
    }

    /// Background cascading deletion: deletes every object all of whose owners are gone,
    /// starting from the dependents of `removed`.
    fn collect_garbage(&mut self, removed: &Value) {
        let mut queue: Vec<String> = removed["metadata"]["uid"]
            .as_str()
            .map(String::from)
            .into_iter()
            .collect();
        while let Some(owner) = queue.pop() {
            let mut dependents = Vec::new();
            for (resource, objects) in &self.objects {
                for ((namespace, name), object) in objects {
                    let owners: Vec<&str> = object["metadata"]["ownerReferences"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r["uid"].as_str())
                        .collect();
                    if owners.contains(&owner.as_str())
                        && owners.iter().all(|uid| !self.uids.contains(*uid))
                    {
                        dependents.push((
                            resource.clone(),
                            namespace.clone(),
                            name.clone(),
                            object.clone(),
                        ));
                    }
                }
            }
            for (resource, namespace, name, object) in dependents {
                let (object, removed) = self.delete_object(&resource, &namespace, &name, object);
                if removed {
                    queue.extend(object["metadata"]["uid"].as_str().map(String::from));
                }
            }
        }
    }
}

/// An object's `metadata.namespace` and `metadata.name` (empty when absent).
pub fn namespace_and_name(object: &Value) -> (String, String) {
    let field = |key: &str| {
        object["metadata"][key]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    (field("namespace"), field("name"))
}

fn take_metadata(object: &mut Map<String, Value>) -> ApiResult<Map<String, Value>> {
    match object.remove("metadata") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(metadata)) => Ok(metadata),
        Some(_) => Err(ApiError::bad_request("metadata must be a JSON object")),
    }
}

fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> &'a str {
    map.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn set_or_remove(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(value) => {
            map.insert(key.into(), value);
        }
        None => {
            map.remove(key);
        }
    }
}

fn without_metadata_and_status(object: &Map<String, Value>) -> Map<String, Value> {
    let mut rest = object.clone();
    rest.remove("metadata");
    rest.remove("status");
    rest
}

fn has_finalizers(object: &Value) -> bool {
    object["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty())
}

fn is_being_deleted(object: &Value) -> bool {
    object["metadata"]["deletionTimestamp"]
        .as_str()
        .is_some_and(|t| !t.is_empty())
}

/// Five random characters from the alphabet Kubernetes uses for generated names.
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uuid::Uuid::new_v4().as_bytes()[..5]
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Kinds of well-known plurals.
fn known_kind(plural: &str) -> Option<&'static str> {
    Some(match plural {
        "pods" => "Pod",
        "services" => "Service",
        "configmaps" => "ConfigMap",
        "secrets" => "Secret",
        "namespaces" => "Namespace",
        "nodes" => "Node",
        "events" => "Event",
        "endpoints" => "Endpoints",
        "serviceaccounts" => "ServiceAccount",
        "persistentvolumeclaims" => "PersistentVolumeClaim",
        "persistentvolumes" => "PersistentVolume",
        "deployments" => "Deployment",
        "statefulsets" => "StatefulSet",
        "replicasets" => "ReplicaSet",
        "daemonsets" => "DaemonSet",
        "jobs" => "Job",
        "cronjobs" => "CronJob",
        "leases" => "Lease",
        "ingresses" => "Ingress",
        "roles" => "Role",
        "rolebindings" => "RoleBinding",
        "clusterroles" => "ClusterRole",
        "clusterrolebindings" => "ClusterRoleBinding",
        "customresourcedefinitions" => "CustomResourceDefinition",
        "horizontalpodautoscalers" => "HorizontalPodAutoscaler",
        "poddisruptionbudgets" => "PodDisruptionBudget",
        "gateways" => "Gateway",
        "streams" => "Stream",
        "processors" => "Processor",
        "inmemorygateways" => "InMemoryGateway",
        "kafkagateways" => "KafkaGateway",
        "pulsargateways" => "PulsarGateway",
        _ => return None,
    })
}

/// A kind for an unknown plural: singular, capitalised (`widgets` → `Widget`).
fn guess_kind(plural: &str) -> String {
    let singular = if let Some(stem) = plural.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = plural.strip_suffix("sses") {
        format!("{stem}ss")
    } else {
        plural.strip_suffix('s').unwrap_or(plural).to_string()
    };
    let mut chars = singular.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configmaps() -> Resource {
        Resource::new("v1", "configmaps")
    }

    #[test]
    fn guesses_kinds() {
        assert_eq!(guess_kind("widgets"), "Widget");
        assert_eq!(guess_kind("policies"), "Policy");
        assert_eq!(guess_kind("classes"), "Class");
    }

    #[test]
    fn noop_update_keeps_resource_version_and_emits_nothing() {
        let mut store = Store::default();
        let created = store
            .create(
                &configmaps(),
                "ns",
                json!({"metadata": {"name": "a"}, "data": {"k": "v"}}),
                Mode::Main,
            )
            .unwrap();
        let rv = store.resource_version();
        let same = store
            .update(&configmaps(), "ns", "a", created.clone(), Mode::Main)
            .unwrap();
        assert_eq!(same, created);
        assert_eq!(store.resource_version(), rv);
        assert_eq!(store.events_after(rv).unwrap().count(), 0);
    }

    #[test]
    fn history_replays_after_a_resource_version() {
        let mut store = Store::default();
        for name in ["a", "b", "c"] {
            store
                .create(
                    &configmaps(),
                    "ns",
                    json!({"metadata": {"name": name}}),
                    Mode::Main,
                )
                .unwrap();
        }
        let names: Vec<_> = store
            .events_after(1)
            .unwrap()
            .map(|e| e.object["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["b", "c"]);
    }
}
