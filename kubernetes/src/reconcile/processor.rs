//! Processor (docs/riff-compatibility.md §2.5): resolve the function's latest image and the bound streams, own a
//! Deployment of the function plus the processor sidecar, and a KEDA ScaledObject scaling it on
//! the lag of its inputs.
//!
//! Unlike riff, a missing stream or function is reported in the status (and recovered from once
//! it appears) rather than failing every pass.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::ListParams;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Api, ResourceExt};

use super::{
    current_replicas, is_ready, propagate_deployment, reference, system_config_map, Reconciled,
};
use crate::children::processor::{
    processor_deployment, processor_scaled_object, processor_trigger_authentication, ScaledInput,
    PROCESSOR_IMAGE_CONFIG_MAP, PROCESSOR_IMAGE_KEY,
};
use crate::children::scaled_object::{ScaledObject, TriggerAuthentication};
use crate::children::stream::StreamCoordinates;
use crate::children::PROCESSOR_LABEL;
use crate::conditions::{ConditionSet, PROCESSOR};
use crate::context::ControllerContext;
use crate::error::{ReconcileError, Result};
use crate::owned::{self, Owned, Parent};
use riff_actors::processor::health::{StatusReport, STATUS_PORT_NAME};
use riff_actors::resources::condition_type::{
    DELIVERY_READY, DEPLOYMENT_READY, SCALED_OBJECT_READY, STREAMS_READY,
};
use riff_actors::resources::reason::{
    DELIVERY_FAILED, LATEST_IMAGE_MISSING, STREAM_NOT_FOUND, STREAM_NOT_READY,
};
use riff_actors::resources::{ready, CommonStatus, Processor, SecretKeyRef, Stream};
/// How often the pods of a processor that may stop at a record are asked again.
const STATUS_RESYNC: Duration = Duration::from_secs(15);

impl Reconciled for Processor {
    const CONDITIONS: ConditionSet = PROCESSOR;

    /// A processor with `delivery.maxAttempts` may stop at a record with no Kubernetes event
    /// telling: its pods are asked again this often.
    fn resync(&self) -> Option<Duration> {
        may_stall(self).then_some(STATUS_RESYNC)
    }

    fn common(&mut self) -> &mut CommonStatus {
        &mut self.status.get_or_insert_with(Default::default).common
    }

    async fn steps(context: &ControllerContext, processor: &mut Self) -> Result<()> {
        let config_map = system_config_map(context, PROCESSOR_IMAGE_CONFIG_MAP).await?;
        let sidecar_image = config_map
            .data
            .as_ref()
            .and_then(|d| d.get(PROCESSOR_IMAGE_KEY))
            .filter(|i| !i.is_empty())
            .cloned()
            .ok_or_else(|| {
                ReconcileError::Configuration(format!(
                    "ConfigMap {}/{PROCESSOR_IMAGE_CONFIG_MAP} has no {PROCESSOR_IMAGE_KEY}",
                    context.system_namespace
                ))
            })?;
        latest_image(context, processor).await?;
        let streams = resolve_streams(context, processor).await?;
        let kafka_secrets = match &streams {
            Some(streams) => kafka_secrets(context, processor, streams).await?,
            None => Vec::new(),
        };

        let parent = Parent::of(processor);
        let name = processor.name_any();
        let snapshot = processor.clone();
        let deployment = owned::generated(
            context,
            &parent,
            (PROCESSOR_LABEL, &name),
            |existing: Option<&Deployment>| {
                let streams = streams.as_deref()?;
                processor_deployment(
                    &snapshot,
                    &sidecar_image,
                    streams,
                    &kafka_secrets,
                    current_replicas(existing),
                )
            },
        )
        .await?;
        let status = processor.status.get_or_insert_with(Default::default);
        let deployment_name = match deployment {
            Owned::Present(deployment) => {
                propagate_deployment(&PROCESSOR, &mut status.common.conditions, &deployment);
                let name = deployment.name_any();
                status.deployment_ref = Some(reference(None, "Deployment", &name));
                Some(name)
            }
            _ => {
                status.deployment_ref = None;
                None
            }
        };

        let inputs = match (&deployment_name, &streams) {
            (Some(_), Some(streams)) => scaled_inputs(context, processor, streams).await?,
            _ => None,
        };
        let snapshot = processor.clone();
        let authentication = owned::generated(
            context,
            &parent,
            (PROCESSOR_LABEL, &name),
            |_: Option<&TriggerAuthentication>| {
                processor_trigger_authentication(&snapshot, inputs.as_deref()?)
            },
        )
        .await?;
        let authentication = match &authentication {
            Owned::Present(authentication) => Some(authentication.name_any()),
            _ => None,
        };
        let min_replicas = context.min_replicas;
        let scaled_object = owned::generated(
            context,
            &parent,
            (PROCESSOR_LABEL, &name),
            |_: Option<&ScaledObject>| {
                processor_scaled_object(
                    &snapshot,
                    deployment_name.as_deref()?,
                    inputs.as_deref()?,
                    authentication.as_deref(),
                    Some(min_replicas),
                )
            },
        )
        .await?;
        let status = processor.status.get_or_insert_with(Default::default);
        match scaled_object {
            Owned::Present(scaled_object) => {
                let name = scaled_object.name_any();
                status.scaled_object_ref = Some(reference(Some("keda.sh"), "ScaledObject", &name));
                PROCESSOR
                    .manage(&mut status.common.conditions)
                    .mark_true(SCALED_OBJECT_READY);
            }
            _ => status.scaled_object_ref = None,
        }
        let stalled = match may_stall(processor) {
            true => delivery_stalled(context, processor).await?,
            false => None,
        };
        let status = processor.status.get_or_insert_with(Default::default);
        let mut conditions = PROCESSOR.manage(&mut status.common.conditions);
        match stalled {
            None => conditions.mark_true(DELIVERY_READY),
            Some(message) => conditions.mark_false(DELIVERY_READY, DELIVERY_FAILED, &message),
        }
        Ok(())
    }
}

/// Sets `status.latestImage`: the template's image, or the referenced Function's or Container's
/// latest image. A missing reference, or one not built yet, is reported on `DeploymentReady`.
async fn latest_image(context: &ControllerContext, processor: &mut Processor) -> Result<()> {
    let build = processor.spec.build.clone();
    let status = processor.status.get_or_insert_with(Default::default);
    let Some(build) = build else {
        let image = processor
            .spec
            .template
            .as_ref()
            .and_then(|t| t.spec.as_ref())
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.clone());
        status.latest_image = image;
        return Ok(());
    };
    let (kind, name) = match build.function_ref.as_str() {
        "" => ("Container", build.container_ref),
        function => ("Function", function.to_owned()),
    };
    let namespace = processor.namespace().unwrap_or_default();
    let gvk = GroupVersionKind::gvk("build.projectriff.io", "v1alpha1", kind);
    let resource = ApiResource::from_gvk(&gvk);
    let api: Api<DynamicObject> =
        Api::namespaced_with(context.client.clone(), &namespace, &resource);
    let found = api
        .get_opt(&name)
        .await
        .map_err(|e| ReconcileError::api("get", format!("{kind} {namespace}/{name}"), e))?;
    let image = found.as_ref().and_then(|f| {
        f.data["status"]["latestImage"]
            .as_str()
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
    });
    let status = processor.status.get_or_insert_with(Default::default);
    match (found, image) {
        (_, Some(image)) => status.latest_image = Some(image),
        (None, None) => PROCESSOR.manage(&mut status.common.conditions).mark_false(
            DEPLOYMENT_READY,
            &format!("{kind}NotFound"),
            &format!("{kind} {name:?} not found"),
        ),
        (Some(_), None) => PROCESSOR
            .manage(&mut status.common.conditions)
            .mark_unknown(
                DEPLOYMENT_READY,
                LATEST_IMAGE_MISSING,
                &format!("{kind} {name:?} has no latest image yet"),
            ),
    }
    Ok(())
}

/// Whether `processor` can stop at a record: only with `delivery.maxAttempts` (without it, a
/// failing window is retried for ever, with no record singled out to report).
fn may_stall(processor: &Processor) -> bool {
    let delivery = processor.spec.delivery.as_ref();
    delivery.is_some_and(|delivery| delivery.max_attempts.is_some())
}

/// What a pod of `processor` reports about a record reading stopped at, if any: each running
/// pod's sidecar is asked at `GET /status` on its `riff-status` port. A pod that does not
/// answer reports nothing (its readiness is the Deployment's business).
async fn delivery_stalled(
    context: &ControllerContext,
    processor: &Processor,
) -> Result<Option<String>> {
    let namespace = processor.namespace().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(context.client.clone(), &namespace);
    let selector = format!("{PROCESSOR_LABEL}={}", processor.name_any());
    let pods = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| ReconcileError::api("list", format!("Pods {selector}"), e))?;
    let http = &context.status_http;
    for pod in pods {
        let ip = pod.status.as_ref().and_then(|s| s.pod_ip.as_deref());
        let port = pod.spec.as_ref().and_then(|spec| {
            let ports = spec
                .containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten());
            let mut ports = ports.filter(|p| p.name.as_deref() == Some(STATUS_PORT_NAME));
            ports.next().map(|p| p.container_port)
        });
        let (Some(ip), Some(port)) = (ip, port) else {
            continue;
        };
        let report = async {
            let response = http
                .get(format!("http://{ip}:{port}/status"))
                .send()
                .await?;
            response.error_for_status()?.bytes().await
        };
        let Ok(body) = report.await else {
            continue;
        };
        let report: StatusReport = serde_json::from_slice(&body).unwrap_or_default();
        if let Some(stalled) = report.delivery_failed {
            return Ok(Some(format!(
                "pod {}: {}",
                pod.name_any(),
                stalled.message()
            )));
        }
    }
    Ok(None)
}

/// The input, output and dead-letter streams, with `StreamsReady` set; `None` (with the reason in
/// `StreamsReady`) when one does not exist.
async fn resolve_streams(
    context: &ControllerContext,
    processor: &mut Processor,
) -> Result<Option<Vec<Stream>>> {
    let namespace = processor.namespace().unwrap_or_default();
    let api: Api<Stream> = Api::namespaced(context.client.clone(), &namespace);
    let names: Vec<String> = processor.spec.stream_names().map(str::to_owned).collect();
    let conditions = &mut processor
        .status
        .get_or_insert_with(Default::default)
        .common
        .conditions;
    let mut streams = Vec::with_capacity(names.len());
    for name in names {
        let what = format!("Stream {namespace}/{name}");
        match api
            .get_opt(&name)
            .await
            .map_err(|e| ReconcileError::api("get", what, e))?
        {
            Some(stream) => streams.push(stream),
            None => {
                let message = format!("stream {name} not found");
                PROCESSOR
                    .manage(conditions)
                    .mark_false(STREAMS_READY, STREAM_NOT_FOUND, &message);
                return Ok(None);
            }
        }
    }
    let not_ready = streams.iter().find(|s| {
        !is_ready(
            &s.status
                .as_ref()
                .map(|s| s.common.conditions.clone())
                .unwrap_or_default(),
        )
    });
    match not_ready {
        None => PROCESSOR.manage(conditions).mark_true(STREAMS_READY),
        Some(stream) => {
            let ready = (stream.status.as_ref()).and_then(|s| ready(&s.common.conditions));
            let detail = ready.map_or("stream has no ready condition".to_owned(), |c| {
                c.message.clone()
            });
            let message = format!("stream {} is not ready: {detail}", stream.name_any());
            PROCESSOR
                .manage(conditions)
                .mark_false(STREAMS_READY, STREAM_NOT_READY, &message);
        }
    }
    Ok(Some(streams))
}

/// What KEDA needs about each input, from its binding Secret; `None` while one is missing.
async fn scaled_inputs(
    context: &ControllerContext,
    processor: &Processor,
    streams: &[Stream],
) -> Result<Option<Vec<ScaledInput>>> {
    let mut inputs = Vec::new();
    for input in &processor.spec.inputs {
        let Some(stream) = streams.iter().find(|s| s.name_any() == input.stream) else {
            return Ok(None);
        };
        let Some(coordinates) = coordinates(context, stream).await? else {
            return Ok(None);
        };
        inputs.push(ScaledInput {
            coordinates,
            partitions: stream.spec.partitions,
        });
    }
    Ok(Some(inputs))
}

/// Where `stream` lives, from its binding Secret; `None` until it is provisioned.
async fn coordinates(
    context: &ControllerContext,
    stream: &Stream,
) -> Result<Option<StreamCoordinates>> {
    let namespace = stream.namespace().unwrap_or_default();
    let secret_ref = stream
        .status
        .as_ref()
        .and_then(|s| s.binding.secret_ref.as_ref());
    let Some(secret_ref) = secret_ref else {
        return Ok(None);
    };
    let api: Api<Secret> = Api::namespaced(context.client.clone(), &namespace);
    let what = format!("Secret {namespace}/{}", secret_ref.name);
    let secret = api
        .get_opt(&secret_ref.name)
        .await
        .map_err(|e| ReconcileError::api("get", what, e))?;
    Ok(secret.as_ref().and_then(StreamCoordinates::from_secret))
}

/// The Secret keys the processor's pod mounts for the Kafka clusters of its streams (their
/// KafkaGateways' `tls` and `sasl`), sorted, each once.
async fn kafka_secrets(
    context: &ControllerContext,
    processor: &Processor,
    streams: &[Stream],
) -> Result<Vec<SecretKeyRef>> {
    let mut refs = Vec::new();
    for name in processor.spec.stream_names() {
        let Some(stream) = streams.iter().find(|s| s.name_any() == name) else {
            continue;
        };
        if let Some(security) = coordinates(context, stream)
            .await?
            .and_then(|c| c.kafka_security)
        {
            refs.extend(security.secret_refs().into_iter().cloned());
        }
    }
    refs.sort_unstable();
    refs.dedup();
    Ok(refs)
}
