//! KafkaGateway and InMemoryGateway (docs/riff-compatibility.md §2.2): read the gateway image from the kind's
//! ConfigMap, then own a Gateway of the same name and mirror its address and readiness.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};

use super::{propagate_ready, reference, system_config_map, Reconciled};
use crate::children::gateway::{inmemory_gateway, kafka_gateway, GatewayImages, GatewayType};
use crate::conditions::{ConditionSet, IN_MEMORY_GATEWAY, KAFKA_GATEWAY};
use crate::context::ControllerContext;
use crate::error::{ReconcileError, Result};
use crate::owned::{self, Owned, Parent};
use riff_actors::resources::condition_type::GATEWAY_READY;
use riff_actors::resources::reason::{NOT_OWNED, SECRET_KEY_NOT_FOUND, SECRET_NOT_FOUND};
use riff_actors::resources::{
    CommonStatus, ConcreteGatewayStatus, Gateway, InMemoryGateway, KafkaGateway, API_VERSION,
};

/// What differs between the concrete gateway kinds.
trait ConcreteGateway: Reconciled {
    const TYPE: GatewayType;
    fn status_mut(&mut self) -> &mut ConcreteGatewayStatus;
    fn desired(&self, images: &GatewayImages) -> Gateway;
}

impl ConcreteGateway for KafkaGateway {
    const TYPE: GatewayType = GatewayType::Kafka;
    fn status_mut(&mut self) -> &mut ConcreteGatewayStatus {
        self.status.get_or_insert_with(Default::default)
    }
    fn desired(&self, images: &GatewayImages) -> Gateway {
        kafka_gateway(self, images)
    }
}

impl ConcreteGateway for InMemoryGateway {
    const TYPE: GatewayType = GatewayType::InMemory;
    fn status_mut(&mut self) -> &mut ConcreteGatewayStatus {
        self.status.get_or_insert_with(Default::default)
    }
    fn desired(&self, images: &GatewayImages) -> Gateway {
        inmemory_gateway(self, images)
    }
}

impl Reconciled for KafkaGateway {
    const CONDITIONS: ConditionSet = KAFKA_GATEWAY;
    fn common(&mut self) -> &mut CommonStatus {
        &mut self.status_mut().common
    }
    /// Secrets are not watched: a gateway whose `tls` or `sasl` references Secrets is looked
    /// at again, every 5 s while one is missing (so that it recovers soon after the Secret is
    /// created), every minute otherwise (a Secret deleted later is reported).
    fn resync(&self) -> Option<std::time::Duration> {
        if self.spec.security().is_empty() {
            return None;
        }
        let conditions = self.status.as_ref().map(|s| &s.common.conditions[..]);
        let missing = conditions.unwrap_or_default().iter().any(|c| {
            c.type_ == GATEWAY_READY
                && [SECRET_NOT_FOUND, SECRET_KEY_NOT_FOUND].contains(&&*c.reason)
        });
        Some(std::time::Duration::from_secs(if missing { 5 } else { 60 }))
    }
    async fn steps(context: &ControllerContext, object: &mut Self) -> Result<()> {
        steps(context, object).await?;
        if let Some(missing) = missing_secret(context, object).await? {
            KAFKA_GATEWAY
                .manage(&mut object.common().conditions)
                .mark_false(GATEWAY_READY, missing.reason, &missing.message);
        }
        Ok(())
    }
}

/// A Secret key a KafkaGateway references that does not exist.
struct MissingSecret {
    reason: &'static str,
    message: String,
}

/// The first Secret or key of `gateway`'s `tls` and `sasl` that does not exist. The controller
/// reads the Secrets to tell (it already manages the stream binding Secrets); it copies no value
/// anywhere: the pods mount the Secrets themselves.
async fn missing_secret(
    context: &ControllerContext,
    gateway: &KafkaGateway,
) -> Result<Option<MissingSecret>> {
    let namespace = gateway.namespace().unwrap_or_default();
    let api: Api<Secret> = Api::namespaced(context.client.clone(), &namespace);
    let security = gateway.spec.security();
    for reference in security.secret_refs() {
        let what = format!("Secret {namespace}/{}", reference.name);
        let secret = api
            .get_opt(&reference.name)
            .await
            .map_err(|e| ReconcileError::api("get", what, e))?;
        let Some(secret) = secret else {
            return Ok(Some(MissingSecret {
                reason: SECRET_NOT_FOUND,
                message: format!("Secret {:?} not found", reference.name),
            }));
        };
        let key = &reference.key;
        let in_data = secret
            .data
            .as_ref()
            .is_some_and(|data| data.contains_key(key));
        let in_strings = (secret.string_data.as_ref()).is_some_and(|data| data.contains_key(key));
        if !in_data && !in_strings {
            return Ok(Some(MissingSecret {
                reason: SECRET_KEY_NOT_FOUND,
                message: format!("Secret {:?} has no key {:?}", reference.name, reference.key),
            }));
        }
    }
    Ok(None)
}

impl Reconciled for InMemoryGateway {
    const CONDITIONS: ConditionSet = IN_MEMORY_GATEWAY;
    fn common(&mut self) -> &mut CommonStatus {
        &mut self.status_mut().common
    }
    async fn steps(context: &ControllerContext, object: &mut Self) -> Result<()> {
        steps(context, object).await
    }
}

async fn steps<G: ConcreteGateway>(context: &ControllerContext, object: &mut G) -> Result<()> {
    let config_map_name = G::TYPE.image_config_map();
    let config_map = system_config_map(context, &config_map_name).await?;
    let images = GatewayImages::from_config_map(&config_map).ok_or_else(|| {
        ReconcileError::Configuration(format!(
            "ConfigMap {}/{config_map_name} has no gatewayImage",
            context.system_namespace
        ))
    })?;
    object.status_mut().gateway_image = Some(images.gateway.clone());

    let desired = object.desired(&images);
    let name = object.name_any();
    let child = owned::named(context, &Parent::of(object), &name, Some(desired)).await?;
    match child {
        Owned::Present(gateway) => {
            let status = object.status_mut();
            let group = API_VERSION.split('/').next();
            status.gateway_ref = Some(reference(group, "Gateway", &name));
            let child_status = gateway.status.unwrap_or_default();
            status.address = child_status.address;
            propagate_ready(
                &G::CONDITIONS,
                &mut status.common.conditions,
                GATEWAY_READY,
                &child_status.common.conditions,
            );
        }
        Owned::NotOwned(name) => {
            let message = format!(
                "There is an existing Gateway {name:?} that the {} does not own.",
                G::kind(&())
            );
            G::CONDITIONS
                .manage(&mut object.common().conditions)
                .mark_false(GATEWAY_READY, NOT_OWNED, &message);
        }
        Owned::Absent => {}
    }
    Ok(())
}
