//! The controller's probes and metrics: `GET /healthz` answers while the process serves;
//! `GET /metrics` is the process's metrics ([`riff_actors::metrics`]); `GET /readyz`
//! answers 200 once this replica leads and its watchers run, or stands by having read the
//! Lease, and 503 otherwise (the API is unreachable).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

/// Whether this replica is ready.
pub type Readiness = Arc<AtomicBool>;

/// Serves the probes and metrics on `address` until the task is dropped.
pub async fn serve(address: SocketAddr, ready: Readiness) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(ready)
        .merge(riff_actors::metrics::router());
    axum::serve(listener, router).await
}

async fn readyz(State(ready): State<Readiness>) -> (StatusCode, &'static str) {
    if ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the Kubernetes API is not reachable",
        )
    }
}
