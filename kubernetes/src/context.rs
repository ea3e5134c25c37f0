//! What every reconciler shares: the API client, where the image ConfigMaps live, the
//! provisioner client, the client asking processor pods for their status, and the Events
//! recorder.

use std::sync::Arc;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::Client;

use super::children::processor::DEFAULT_MIN_REPLICAS;
use super::provisioner::Provisioner;

/// The name the controller reports Events and holds its Lease under.
pub const CONTROLLER_NAME: &str = "riff-streaming-controller";

/// Shared by every reconcile of every resource.
#[derive(Clone)]
pub struct ControllerContext {
    /// The Kubernetes API.
    pub client: Client,
    /// Where the image ConfigMaps live (`SYSTEM_NAMESPACE`).
    pub system_namespace: String,
    /// Calls gateways' provisioner APIs.
    pub provisioner: Provisioner,
    /// The `minReplicaCount` of processors' ScaledObjects.
    pub min_replicas: i32,
    /// Asks processor pods' sidecars for their status (`GET /status`), with a short timeout.
    pub status_http: reqwest::Client,
    recorder: Arc<Recorder>,
}

/// How long a processor pod's status endpoint gets to answer.
const STATUS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

impl ControllerContext {
    /// A context whose Events are reported by `instance` (e.g. the pod name).
    pub fn new(
        client: Client,
        system_namespace: impl Into<String>,
        provisioner: Provisioner,
        instance: Option<String>,
    ) -> Self {
        let reporter = Reporter {
            controller: CONTROLLER_NAME.to_owned(),
            instance,
        };
        ControllerContext {
            recorder: Arc::new(Recorder::new(client.clone(), reporter)),
            client,
            system_namespace: system_namespace.into(),
            provisioner,
            min_replicas: DEFAULT_MIN_REPLICAS,
            status_http: reqwest::Client::builder()
                .timeout(STATUS_TIMEOUT)
                .build()
                .expect("an HTTP client without TLS builds"),
        }
    }

    /// Records a Kubernetes Event about `regarding`; a failure to record is logged, not fatal.
    pub async fn event(
        &self,
        regarding: &ObjectReference,
        warning: bool,
        reason: &str,
        note: String,
    ) {
        let event = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.to_owned(),
            note: Some(note),
            action: reason.to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, regarding).await {
            tracing::warn!(
                resource = %reference_name(regarding),
                reason,
                %error,
                "could not record an event"
            );
        }
    }
}

/// `Kind namespace/name` of a reference, for logs.
pub fn reference_name(reference: &ObjectReference) -> String {
    format!(
        "{} {}/{}",
        reference.kind.as_deref().unwrap_or_default(),
        reference.namespace.as_deref().unwrap_or_default(),
        reference.name.as_deref().unwrap_or_default()
    )
}
