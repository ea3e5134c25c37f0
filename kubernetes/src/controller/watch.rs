//! The kube-rs watchers feeding the registry: the five kinds, the children they own, the image
//! ConfigMaps, and the build kinds processors refer to. A child's event reconciles its
//! controller owner; a changed Gateway reconciles the Streams of its namespace, a changed
//! Stream (or binding) the Processors of its namespace, a changed image ConfigMap every
//! resource using it.

use std::fmt::Debug;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use super::registry::{Kind, Registry};
use crate::children::gateway::GatewayType;
use crate::children::processor::PROCESSOR_IMAGE_CONFIG_MAP;
use crate::children::scaled_object::ScaledObject;
use crate::children::{GATEWAY_LABEL, PROCESSOR_LABEL, STREAM_LABEL};
use crate::error::is_not_found;
use riff_actors::resources::{Gateway, InMemoryGateway, KafkaGateway, Processor, Stream};

/// Starts every watcher, over `namespace` only or (`None`) every namespace; they run until
/// aborted. The image ConfigMaps are watched in `system_namespace`.
pub fn spawn_all(
    client: &Client,
    registry: &Registry,
    system_namespace: &str,
    namespace: Option<&str>,
) -> Vec<JoinHandle<()>> {
    let labelled = |labels: &str| watcher::Config::default().labels(labels);
    let everything = watcher::Config::default;
    let scope = Scope { client, namespace };
    let mut tasks = vec![
        primary::<KafkaGateway>(scope.api(), registry, Kind::KafkaGateway),
        primary::<InMemoryGateway>(scope.api(), registry, Kind::InMemoryGateway),
        primary::<Gateway>(scope.api(), registry, Kind::Gateway),
        primary::<Stream>(scope.api(), registry, Kind::Stream),
        primary::<Processor>(scope.api(), registry, Kind::Processor),
        child(scope.api::<Service>(), labelled(GATEWAY_LABEL), registry),
        child(scope.api::<Deployment>(), labelled(GATEWAY_LABEL), registry),
        child(
            scope.api::<Deployment>(),
            labelled(PROCESSOR_LABEL),
            registry,
        ),
        child(
            scope.api::<ScaledObject>(),
            labelled(PROCESSOR_LABEL),
            registry,
        ),
        child(scope.api::<ConfigMap>(), labelled(STREAM_LABEL), registry),
        child(scope.api::<Secret>(), labelled(STREAM_LABEL), registry),
    ];
    let registry_for_images = registry.clone();
    tasks.push(watch(
        Api::<ConfigMap>::namespaced(client.clone(), system_namespace),
        everything(),
        move |config_map: &ConfigMap, _| {
            let name = config_map.name_any();
            let kind = if name == GatewayType::Kafka.image_config_map() {
                Kind::KafkaGateway
            } else if name == GatewayType::InMemory.image_config_map() {
                Kind::InMemoryGateway
            } else if name == PROCESSOR_IMAGE_CONFIG_MAP {
                Kind::Processor
            } else {
                return;
            };
            registry_for_images.reconcile_all(kind, None);
        },
    ));
    for kind in ["Function", "Container"] {
        let gvk = GroupVersionKind::gvk("build.projectriff.io", "v1alpha1", kind);
        let resource = ApiResource::from_gvk(&gvk);
        let registry = registry.clone();
        tasks.push(watch(
            scope.dynamic_api(&resource),
            everything(),
            move |build: &DynamicObject, _| {
                registry.reconcile_all(Kind::Processor, build.namespace().as_deref());
            },
        ));
    }
    tasks
}

/// The namespaces the watchers see: one, or every one.
#[derive(Clone, Copy)]
struct Scope<'a> {
    client: &'a Client,
    namespace: Option<&'a str>,
}

impl Scope<'_> {
    fn api<K>(&self) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
    {
        match self.namespace {
            Some(namespace) => Api::namespaced(self.client.clone(), namespace),
            None => Api::all(self.client.clone()),
        }
    }

    fn dynamic_api(&self, resource: &ApiResource) -> Api<DynamicObject> {
        match self.namespace {
            Some(namespace) => Api::namespaced_with(self.client.clone(), namespace, resource),
            None => Api::all_with(self.client.clone(), resource),
        }
    }
}

/// Watches a reconciled kind: each change reconciles the resource (a deletion stops its actor),
/// its controller owner, and the resources of its namespace that refer to it.
fn primary<K>(api: Api<K>, registry: &Registry, kind: Kind) -> JoinHandle<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let registry = registry.clone();
    watch(
        api,
        watcher::Config::default(),
        move |object: &K, deleted| {
            let namespace = object.namespace().unwrap_or_default();
            let key = (kind, namespace.clone(), object.name_any());
            if deleted {
                registry.forget(&key);
            } else {
                registry.reconcile(key);
            }
            reconcile_owner(&registry, object);
            match kind {
                Kind::Gateway => registry.reconcile_all(Kind::Stream, Some(&namespace)),
                Kind::Stream => registry.reconcile_all(Kind::Processor, Some(&namespace)),
                _ => {}
            }
        },
    )
}

/// Watches a kind of child: each change reconciles its controller owner; a stream binding's
/// change also reconciles the Processors of its namespace.
fn child<C>(api: Api<C>, config: watcher::Config, registry: &Registry) -> JoinHandle<()>
where
    C: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let registry = registry.clone();
    watch(api, config, move |object: &C, _| {
        if reconcile_owner(&registry, object) == Some(Kind::Stream) {
            let namespace = object.namespace();
            registry.reconcile_all(Kind::Processor, namespace.as_deref());
        }
    })
}

/// Reconciles the controller owner of `object` if it is one of the five kinds; returns its kind.
fn reconcile_owner(registry: &Registry, object: &impl Resource) -> Option<Kind> {
    let owner = object
        .owner_references()
        .iter()
        .find(|o| o.controller == Some(true))?;
    let kind = Kind::from_name(&owner.kind)
        .filter(|_| owner.api_version == riff_actors::resources::API_VERSION)?;
    let namespace = object.meta().namespace.clone().unwrap_or_default();
    registry.reconcile((kind, namespace, owner.name.clone()));
    Some(kind)
}

/// Runs a watcher, calling `handle(object, deleted)` for every object event; errors are logged
/// and the watch resumes with backoff.
fn watch<K>(
    api: Api<K>,
    config: watcher::Config,
    handle: impl Fn(&K, bool) + 'static,
) -> JoinHandle<()>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let what = api.resource_url().to_owned();
    actix::spawn(async move {
        let mut events = watcher(api, config).default_backoff().boxed();
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::Apply(object) | watcher::Event::InitApply(object)) => {
                    handle(&object, false);
                }
                Ok(watcher::Event::Delete(object)) => handle(&object, true),
                Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
                Err(error) if kind_not_installed(&error) => {
                    tracing::debug!(watch = %what, %error, "kind not installed; retrying");
                }
                Err(error) => tracing::warn!(watch = %what, %error, "watch failed; retrying"),
            }
        }
    })
}

/// Whether a watch failed because its kind is not served (e.g. riff's build CRDs are not
/// installed): expected, so not worth a warning on every retry.
fn kind_not_installed(error: &watcher::Error) -> bool {
    match error {
        watcher::Error::InitialListFailed(error) | watcher::Error::WatchStartFailed(error) => {
            is_not_found(error)
        }
        _ => false,
    }
}
