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
use tonic::transport::server::TcpIncoming;

use crate::broker::Broker;

pub use liiklus::LiiklusGateway;

/// Serves the liiklus gRPC API over `broker` on `listener` until `shutdown` completes.
///
/// Its sockets send at once (`TCP_NODELAY`): a client that publishes and receives on one
/// connection, as a processor reads and writes its gateway, gets a record's publish answer and
/// then the record itself, two small writes, and Nagle's algorithm held the second until the
/// client acknowledged the first, which it delays up to 40 ms (44 ms from a publish to the
/// subscriber, 0.2 ms without).
pub async fn serve_grpc(
    broker: Arc<dyn Broker>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(LiiklusServiceServer::new(LiiklusGateway::new(broker)))
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
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
