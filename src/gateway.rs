//! `riff gateway`: a gateway process (the liiklus-compatible API and the provisioner API) over
//! memory or Kafka, configured like riff's liiklus gateway: env `storage_records_type`
//! (`MEMORY`, the default, or `KAFKA`), `kafka_bootstrapServers` and our `kafka_security` (the
//! KafkaGateway's `tls` and `sasl` references as JSON, the Secrets mounted under
//! `kafka_secretsDir`, default `/var/riff/kafka-secrets`); `GATEWAY` is the
//! `host:port` the provisioner answers for its streams (riff's provisioner env).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use riff_actors::broker::kafka::{KafkaBroker, KafkaSecurity, KafkaSettings, MOUNTED_SECRETS};
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
            let mut settings = KafkaSettings::new(servers);
            if let Ok(refs) = std::env::var("kafka_security") {
                let dir = std::env::var("kafka_secretsDir").unwrap_or(MOUNTED_SECRETS.into());
                settings.security = KafkaSecurity::from_mounted(&refs, Path::new(&dir))
                    .map_err(|error| anyhow::anyhow!("kafka_security: {error}"))?;
            }
            Ok(Arc::new(KafkaBroker::connect(settings)?))
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
