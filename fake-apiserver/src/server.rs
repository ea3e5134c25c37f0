//! The background thread that owns the tokio runtime and serves HTTP.

use crate::routes;
use crate::shared::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long open connections get to finish once the server stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// A running server thread; dropping it stops the server and joins the thread.
pub struct Running {
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Binds `127.0.0.1:0` and serves `shared` from a new thread with its own runtime.
pub fn spawn(shared: Arc<Shared>) -> std::io::Result<(SocketAddr, Running)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (shutdown, shutdown_signal) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(format!("fake-apiserver-{}", address.port()))
        .spawn(move || {
            runtime.block_on(serve(listener, shared, shutdown_signal));
            runtime.shutdown_timeout(Duration::from_millis(100));
        })?;
    Ok((
        address,
        Running {
            shutdown: Some(shutdown),
            thread: Some(thread),
        },
    ))
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    shutdown: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let mut stopping = shared.stopping();
    let signal = {
        let shared = shared.clone();
        async move {
            let _ = shutdown.await;
            shared.stop();
        }
    };
    let server = axum::serve(listener, routes::router(shared)).with_graceful_shutdown(signal);
    tokio::select! {
        _ = server => {}
        _ = async {
            let _ = stopping.wait_for(|stopped| *stopped).await;
            tokio::time::sleep(DRAIN_TIMEOUT).await;
        } => {}
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
