//! The gRPC server for `streaming.Riff` (plaintext, docs/riff-compatibility.md §5.2).

use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status, Streaming};

use crate::invocation::Call;
use crate::{Function, ServeError};
use riff_protocol::riff::riff_server::{Riff, RiffServer};
use riff_protocol::riff::InputSignal;

/// The port served when `GRPC_PORT` is not set.
pub const DEFAULT_PORT: u16 = 8081;

/// Serves `function` the way riff runs functions: on `0.0.0.0:$GRPC_PORT` (default 8081),
/// logging one line to stderr once listening, until SIGTERM or SIGINT (then in-flight calls
/// are finished).
pub async fn serve<F: Function>(function: F) -> Result<(), ServeError> {
    let port = match std::env::var("GRPC_PORT") {
        Ok(port) if !port.trim().is_empty() => port.trim().parse().map_err(|_| {
            ServeError::Config(format!("GRPC_PORT must be a TCP port number, got {port:?}"))
        })?,
        _ => DEFAULT_PORT,
    };
    let bind = |source| ServeError::Bind { port, source };
    let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))
        .await
        .map_err(bind)?;
    let address = listener.local_addr().map_err(bind)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(ServeError::Signal)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(ServeError::Signal)?;
    eprintln!("riff function: serving streaming.Riff on {address}");
    let shutdown = async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        eprintln!("riff function: {name} received, finishing in-flight calls");
    };
    serve_on(function, listener, shutdown).await
}

/// Serves `function` on `listener` until `shutdown` completes (then in-flight calls are
/// finished). For embedding and tests; [`serve`] is the usual entry point.
pub async fn serve_on<F: Function>(
    function: F,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let invoker = Invoker {
        function: Arc::new(function),
    };
    tonic::transport::Server::builder()
        .add_service(RiffServer::new(invoker))
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await?;
    Ok(())
}

/// The `streaming.Riff` service: one call runs one invocation of the function, inside its
/// response stream (hence in the task that sends the response).
struct Invoker<F> {
    function: Arc<F>,
}

#[tonic::async_trait]
impl<F: Function> Riff for Invoker<F> {
    type InvokeStream = Call;

    async fn invoke(
        &self,
        request: Request<Streaming<InputSignal>>,
    ) -> Result<Response<Self::InvokeStream>, Status> {
        Ok(Response::new(Call::new(
            self.function.clone(),
            request.into_inner(),
        )))
    }
}
