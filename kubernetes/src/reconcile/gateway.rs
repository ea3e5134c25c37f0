//! Gateway (docs/riff-compatibility.md §2.3): a Service for its ports, then, once the Service exists and the Gateway
//! has a pod template, a Deployment whose replica count is left to whoever scales it.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::ResourceExt;

use super::{current_replicas, propagate_deployment, reference, Reconciled};
use crate::children::gateway::{gateway_deployment, gateway_service, service_address};
use crate::children::GATEWAY_LABEL;
use crate::conditions::{ConditionSet, GATEWAY};
use crate::context::ControllerContext;
use crate::error::Result;
use crate::owned::{self, Owned, Parent};
use riff_actors::resources::condition_type::SERVICE_READY;
use riff_actors::resources::{Addressable, CommonStatus, Gateway};

impl Reconciled for Gateway {
    const CONDITIONS: ConditionSet = GATEWAY;

    fn common(&mut self) -> &mut CommonStatus {
        &mut self.status.get_or_insert_with(Default::default).common
    }

    async fn steps(context: &ControllerContext, gateway: &mut Self) -> Result<()> {
        let parent = Parent::of(gateway);
        let name = gateway.name_any();
        let desired = gateway_service(gateway);
        let service = owned::generated(context, &parent, (GATEWAY_LABEL, &name), |existing| {
            desired.map(|service| keep_cluster_ip(existing, service))
        })
        .await?;
        let status = gateway.status.get_or_insert_with(Default::default);
        match service {
            Owned::Present(service) => {
                status.service_ref = Some(reference(None, "Service", &service.name_any()));
                status.address = Some(Addressable {
                    url: Some(service_address(&service)),
                });
                GATEWAY
                    .manage(&mut status.common.conditions)
                    .mark_true(SERVICE_READY);
            }
            _ => {
                status.service_ref = None;
                status.address = None;
            }
        }

        let snapshot = gateway.clone();
        let deployment = owned::generated(
            context,
            &parent,
            (GATEWAY_LABEL, &name),
            |existing: Option<&Deployment>| {
                gateway_deployment(&snapshot, current_replicas(existing))
            },
        )
        .await?;
        let status = gateway.status.get_or_insert_with(Default::default);
        match deployment {
            Owned::Present(deployment) => {
                status.deployment_ref = Some(reference(None, "Deployment", &deployment.name_any()));
                propagate_deployment(&GATEWAY, &mut status.common.conditions, &deployment);
            }
            _ => status.deployment_ref = None,
        }
        Ok(())
    }
}

/// The desired Service with the existing one's cluster IPs, which the API server assigned.
fn keep_cluster_ip(existing: Option<&Service>, mut desired: Service) -> Service {
    let assigned = existing.and_then(|s| s.spec.as_ref());
    if let (Some(assigned), Some(spec)) = (assigned, desired.spec.as_mut()) {
        spec.cluster_ip.clone_from(&assigned.cluster_ip);
        spec.cluster_ips.clone_from(&assigned.cluster_ips);
    }
    desired
}
