//! The controller's probes and metrics: `GET /healthz` answers while the process serves;
//! `GET /metrics` is the Prometheus text of [`Metrics`]; `GET /readyz`
//! answers 200 once this replica leads and its watchers run, or stands by having read the
//! Lease, and 503 otherwise (the API is unreachable).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use super::metrics::Metrics;

/// Whether this replica is ready.
pub type Readiness = Arc<AtomicBool>;

#[derive(Clone)]
struct Served {
    ready: Readiness,
    metrics: Arc<Metrics>,
}

/// Serves the probes and metrics on `address` until the task is dropped.
pub async fn serve(
    address: SocketAddr,
    ready: Readiness,
    metrics: Arc<Metrics>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|State(served): State<Served>| async move { served.metrics.render() }),
        )
        .with_state(Served { ready, metrics });
    axum::serve(listener, router).await
}

async fn readyz(State(served): State<Served>) -> (StatusCode, &'static str) {
    if served.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the Kubernetes API is not reachable",
        )
    }
}
