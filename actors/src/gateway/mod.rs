//! Gateway APIs over a broker: the liiklus-compatible gRPC API ([`LiiklusGateway`]) and the
//! provisioner HTTP API ([`provisioner`]). Both work over any [`Broker`].

pub(crate) mod events;
pub mod liiklus;
pub mod provisioner;
mod sessions;

use std::future::Future;
use std::sync::Arc;

use riff_protocol::liiklus::liiklus_service_server::LiiklusServiceServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use crate::broker::Broker;

pub use liiklus::LiiklusGateway;

/// Serves the liiklus gRPC API over `broker` on `listener` until `shutdown` completes.
pub async fn serve_grpc(
    broker: Arc<dyn Broker>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(LiiklusServiceServer::new(LiiklusGateway::new(broker)))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}

/// Serves the provisioner HTTP API over `broker` on `listener` until `shutdown` completes;
/// `gateway` is the `host:port` of the gRPC API that provisioned streams are reached through.
/// The same port serves the process's metrics at `GET /metrics` (the broker's reachability
/// among them).
pub async fn serve_provisioner(
    broker: Arc<dyn Broker>,
    gateway: impl Into<String>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::metrics::gateway::serves(broker.clone());
    let router = provisioner::router(broker, gateway).merge(crate::metrics::router());
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
