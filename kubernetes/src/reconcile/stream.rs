//! Stream (docs/riff-compatibility.md §2.4): provision the stream's topic through its gateway on every pass, then own
//! the binding ConfigMap and Secret that processors mount.
//!
//! Unlike riff, a pass that cannot provision (the gateway momentarily not ready) leaves the
//! binding children alone instead of deleting them, so processors keep their bindings and
//! ScaledObjects while a gateway pod restarts.

use k8s_openapi::api::core::v1::{ConfigMap, LocalObjectReference, Secret};
use kube::{Api, ResourceExt};

use super::{is_ready, Reconciled};
use crate::children::gateway::GatewayType;
use crate::children::stream::{
    binding_metadata, binding_metadata_name, binding_secret, binding_secret_name, StreamCoordinates,
};
use crate::children::{GATEWAY_TYPE_LABEL, KAFKA_GATEWAY_LABEL};
use crate::conditions::{ConditionSet, STREAM};
use crate::context::ControllerContext;
use crate::error::{ReconcileError, Result};
use crate::owned::{self, Owned, Parent};
use riff_actors::resources::condition_type::{BINDING_READY, RESOURCE_AVAILABLE};
use riff_actors::resources::reason::{BINDING_FAILED, PROVISION_FAILED};
use riff_actors::resources::{
    CommonStatus, ConditionStatus, Gateway, KafkaGateway, KafkaGatewaySpec, Stream,
};

impl Reconciled for Stream {
    const CONDITIONS: ConditionSet = STREAM;

    fn common(&mut self) -> &mut CommonStatus {
        &mut self.status.get_or_insert_with(Default::default).common
    }

    async fn steps(context: &ControllerContext, stream: &mut Self) -> Result<()> {
        let Some(coordinates) = provision(context, stream).await? else {
            return Ok(());
        };
        let parent = Parent::of(stream);
        let name = stream.name_any();

        let metadata_name = binding_metadata_name(&name);
        let desired = Some(binding_metadata(stream));
        let metadata = owned::named::<ConfigMap>(context, &parent, &metadata_name, desired).await?;
        bind(stream, metadata, "binding metadata", |s, r| {
            s.binding.metadata_ref = r;
        });

        let secret_name = binding_secret_name(&name);
        let desired = binding_secret(stream, &coordinates);
        let secret = owned::named::<Secret>(context, &parent, &secret_name, desired).await?;
        bind(stream, secret, "binding secret", |s, r| {
            s.binding.secret_ref = r
        });

        let status = stream.status.get_or_insert_with(Default::default);
        let binding = &status.binding;
        let unknown = status
            .common
            .conditions
            .iter()
            .any(|c| c.type_ == BINDING_READY && c.status == ConditionStatus::Unknown);
        if binding.metadata_ref.is_some() && binding.secret_ref.is_some() && unknown {
            STREAM
                .manage(&mut status.common.conditions)
                .mark_true(BINDING_READY);
        }
        Ok(())
    }
}

/// Reflects a binding child into the status: its name once present, `BindingFailed` when a
/// same-named object belongs to someone else.
fn bind<C: kube::Resource>(
    stream: &mut Stream,
    child: Owned<C>,
    what: &str,
    set: impl FnOnce(&mut riff_actors::resources::StreamStatus, Option<LocalObjectReference>),
) {
    let status = stream.status.get_or_insert_with(Default::default);
    match child {
        Owned::Present(child) => set(
            status,
            Some(LocalObjectReference {
                name: child.meta().name.clone().unwrap_or_default(),
            }),
        ),
        Owned::NotOwned(name) => STREAM.manage(&mut status.common.conditions).mark_false(
            BINDING_READY,
            BINDING_FAILED,
            &format!("{what} {name:?} already exists"),
        ),
        Owned::Absent => {}
    }
}

/// Provisions the stream through its gateway: `None` (and `ResourceAvailable=False`) when the
/// gateway is missing or not ready; an error (retried) when the provisioner fails.
async fn provision(
    context: &ControllerContext,
    stream: &mut Stream,
) -> Result<Option<StreamCoordinates>> {
    let namespace = stream.namespace().unwrap_or_default();
    let name = stream.name_any();
    let (partitions, content_type) = (stream.spec.partitions, stream.spec.content_type.clone());
    let gateway_name = stream.spec.gateway.name.clone();
    let api: Api<Gateway> = Api::namespaced(context.client.clone(), &namespace);
    let what = format!("Gateway {namespace}/{gateway_name}");
    let gateway = api
        .get_opt(&gateway_name)
        .await
        .map_err(|e| ReconcileError::api("get", what, e))?;
    let conditions = &mut stream
        .status
        .get_or_insert_with(Default::default)
        .common
        .conditions;
    let Some(gateway) = gateway else {
        let message = format!("Gateway {gateway_name:?} not found");
        STREAM
            .manage(conditions)
            .mark_false(RESOURCE_AVAILABLE, PROVISION_FAILED, &message);
        return Ok(None);
    };
    let gateway_status = gateway.status.clone().unwrap_or_default();
    let address = gateway_status.address.and_then(|a| a.url);
    let address = match address {
        Some(address) if is_ready(&gateway_status.common.conditions) => address,
        _ => {
            let message = format!("Gateway {gateway_name:?} not ready");
            STREAM
                .manage(conditions)
                .mark_false(RESOURCE_AVAILABLE, PROVISION_FAILED, &message);
            return Ok(None);
        }
    };
    let provisioned = context
        .provisioner
        .provision(&address, &namespace, &name, partitions, &content_type)
        .await;
    let provisioned = match provisioned {
        Ok(provisioned) => provisioned,
        Err(message) => {
            STREAM
                .manage(conditions)
                .mark_false(RESOURCE_AVAILABLE, PROVISION_FAILED, &message);
            return Err(ReconcileError::Provision(message));
        }
    };
    STREAM.manage(conditions).mark_true(RESOURCE_AVAILABLE);
    let kafka = kafka_cluster(context, &gateway).await?;
    Ok(Some(StreamCoordinates {
        gateway: provisioned.gateway,
        topic: provisioned.topic,
        bootstrap_servers: kafka.as_ref().map(|k| k.bootstrap_servers.clone()),
        kafka_security: kafka.map(|k| k.security()),
    }))
}

/// The Kafka cluster behind a KafkaGateway's Gateway, which processors then reach directly.
async fn kafka_cluster(
    context: &ControllerContext,
    gateway: &Gateway,
) -> Result<Option<KafkaGatewaySpec>> {
    let labels = gateway.labels();
    if labels.get(GATEWAY_TYPE_LABEL).map(String::as_str) != Some(GatewayType::Kafka.as_str()) {
        return Ok(None);
    }
    let Some(name) = labels.get(KAFKA_GATEWAY_LABEL) else {
        return Ok(None);
    };
    let namespace = gateway.namespace().unwrap_or_default();
    let api: Api<KafkaGateway> = Api::namespaced(context.client.clone(), &namespace);
    let kafka = api
        .get_opt(name)
        .await
        .map_err(|e| ReconcileError::api("get", format!("KafkaGateway {namespace}/{name}"), e))?;
    Ok(kafka.map(|k| k.spec))
}
