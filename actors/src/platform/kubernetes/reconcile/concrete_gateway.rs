//! KafkaGateway and InMemoryGateway (docs/riff-compatibility.md §2.2): read the gateway image from the kind's
//! ConfigMap, then own a Gateway of the same name and mirror its address and readiness.

use kube::ResourceExt;

use super::{propagate_ready, reference, system_config_map, Reconciled};
use crate::platform::kubernetes::children::gateway::{
    inmemory_gateway, kafka_gateway, GatewayImages, GatewayType,
};
use crate::platform::kubernetes::conditions::{ConditionSet, IN_MEMORY_GATEWAY, KAFKA_GATEWAY};
use crate::platform::kubernetes::context::Context;
use crate::platform::kubernetes::error::{ReconcileError, Result};
use crate::platform::kubernetes::owned::{self, Owned, Parent};
use crate::resources::{
    CommonStatus, ConcreteGatewayStatus, Gateway, InMemoryGateway, KafkaGateway, API_VERSION,
};

/// The condition mirroring the child Gateway's Ready.
const GATEWAY_READY: &str = "GatewayReady";

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
    async fn steps(context: &Context, object: &mut Self) -> Result<()> {
        steps(context, object).await
    }
}

impl Reconciled for InMemoryGateway {
    const CONDITIONS: ConditionSet = IN_MEMORY_GATEWAY;
    fn common(&mut self) -> &mut CommonStatus {
        &mut self.status_mut().common
    }
    async fn steps(context: &Context, object: &mut Self) -> Result<()> {
        steps(context, object).await
    }
}

async fn steps<G: ConcreteGateway>(context: &Context, object: &mut G) -> Result<()> {
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
                .mark_false(GATEWAY_READY, "NotOwned", &message);
        }
        Owned::Absent => {}
    }
    Ok(())
}
