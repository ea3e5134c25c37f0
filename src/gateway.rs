//! `riff gateway`: a gateway process (the liiklus-compatible API and the provisioner API) over
//! memory or Kafka, configured like riff's liiklus gateway: env `storage_records_type`
//! (`MEMORY`, the default, or `KAFKA`) and `kafka_bootstrapServers`; `GATEWAY` is the
//! `host:port` the provisioner answers for its streams (riff's provisioner env).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use riff_actors::broker::kafka::{KafkaBroker, KafkaSettings};
use riff_actors::broker::memory::MemoryBroker;
use riff_actors::broker::Broker;
use riff_actors::gateway;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The broker named by the environment.
fn broker() -> anyhow::Result<Arc<dyn Broker>> {
    let storage = std::env::var("storage_records_type").unwrap_or_else(|_| "MEMORY".into());
    match storage.as_str() {
        "MEMORY" => Ok(Arc::new(MemoryBroker::new())),
        "KAFKA" => {
            let servers = std::env::var("kafka_bootstrapServers")
                .context("storage_records_type=KAFKA needs kafka_bootstrapServers")?;
            Ok(Arc::new(KafkaBroker::connect(KafkaSettings::new(servers))?))
        }
        other => bail!("storage_records_type: {other:?} is not supported (MEMORY or KAFKA)"),
    }
}

/// Serves both APIs until `shutdown` resolves.
pub async fn run(
    grpc: SocketAddr,
    provisioner: SocketAddr,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let broker = broker()?;
    let bind = |address: SocketAddr| async move {
        TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))
    };
    let (grpc_listener, http_listener) = (bind(grpc).await?, bind(provisioner).await?);
    let advertised = std::env::var("GATEWAY").unwrap_or_else(|_| {
        grpc_listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    });
    tracing::info!(gateway = %advertised, %grpc, %provisioner, "serving");
    let (stop, stopped) = watch::channel(false);
    let until = |mut stopped: watch::Receiver<bool>| async move {
        _ = stopped.wait_for(|stop| *stop).await;
    };
    let grpc = gateway::serve_grpc(broker.clone(), grpc_listener, until(stopped.clone()));
    let http = gateway::serve_provisioner(broker, advertised, http_listener, until(stopped));
    let servers = async {
        tokio::try_join!(async { grpc.await.context("gateway API") }, async {
            http.await.context("provisioner API")
        },)
    };
    tokio::pin!(servers);
    tokio::select! {
        served = &mut servers => served.map(|_| ()),
        _ = shutdown => {
            _ = stop.send(true);
            Ok(())
        }
    }
}
