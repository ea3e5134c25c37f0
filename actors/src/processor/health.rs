//! What a running processor reports about its delivery, for its supervisor to read: the record
//! it stopped at, if a record failed every attempt and there is no dead-letter stream. The
//! processor sidecar serves it at `GET /status` on [`STATUS_PORT`]; the controller reads it
//! from the processor's pods and sets the Processor's `DeliveryReady` condition.

use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// The port of the sidecar's status endpoint.
pub const STATUS_PORT: u16 = 8090;
/// The name of that port in the processor Deployment's sidecar container.
pub const STATUS_PORT_NAME: &str = "riff-status";

/// A record that failed every attempt, where reading stopped.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Stalled {
    /// The record's topic.
    pub topic: String,
    /// Its partition.
    pub partition: u32,
    /// Its offset.
    pub offset: u64,
    /// The attempts it failed alone.
    pub attempts: u32,
    /// The last failure.
    pub error: String,
}

impl Stalled {
    /// The one-line description a status condition carries.
    pub fn message(&self) -> String {
        format!(
            "the record at offset {} of partition {} of {} failed {} attempts and there is no \
             dead-letter stream; reading stopped there: {}",
            self.offset, self.partition, self.topic, self.attempts, self.error
        )
    }
}

/// The document served at `GET /status`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// Set while a record that failed every attempt holds reading up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_failed: Option<Stalled>,
}

/// A processor's delivery state, shared between its pipeline (which writes it) and whoever
/// reports it.
#[derive(Clone, Default)]
pub struct Health(Arc<Mutex<Option<Stalled>>>);

impl Health {
    /// The current report.
    pub fn report(&self) -> StatusReport {
        StatusReport {
            delivery_failed: self.0.lock().clone(),
        }
    }

    /// Reading stopped at `stalled`, or (`None`) goes on.
    pub fn set(&self, stalled: Option<Stalled>) {
        *self.0.lock() = stalled;
    }

    /// Serves [`Health::router`] and the process's metrics (`GET /metrics`) on `address` in
    /// the background; fails if it cannot bind.
    pub async fn serve(&self, address: &str) -> std::io::Result<std::net::SocketAddr> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let bound = listener.local_addr()?;
        let router = self.router().merge(crate::metrics::router());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "the status endpoint stopped");
            }
        });
        Ok(bound)
    }

    /// `GET /status`: the report as JSON.
    pub fn router(&self) -> Router {
        let health = self.clone();
        Router::new().route(
            "/status",
            get(move || {
                let report = serde_json::to_string(&health.report());
                let json = report.expect("a status report serializes");
                async move { ([(CONTENT_TYPE, "application/json")], json) }
            }),
        )
    }
}
