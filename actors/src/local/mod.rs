//! The embedded platform (`riff local run`): the same YAML a cluster takes, run in one process.
//!
//! Gateways are served in-process (in memory, or over a KafkaGateway's Kafka), streams are
//! provisioned on them, and each
//! processor's function container runs as a child process (`GRPC_PORT` assigned, working
//! directory = its YAML file's folder) next to the processor's pipeline actors. Edits to the
//! YAML files are applied while running.

mod function_port;
mod function_process;
mod gateway;
mod plan;
mod running;
mod secrets;
mod stream;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::broker::kafka::Reads;
use crate::processor::Capacity;
use crate::resources::manifest;
use plan::Plan;
use running::{Applied, Running};

/// Settings of the embedded platform.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The first in-memory gateway's liiklus API; further gateways take the next ports.
    pub gateway_address: SocketAddr,
    /// The first in-memory gateway's provisioner API; further gateways take the next ports.
    pub provisioner_address: SocketAddr,
    /// On shutdown, how long open windows get to complete.
    pub shutdown_timeout: Duration,
    /// How many input records, and bytes of them, a processor may hold uncommitted.
    pub capacity: Capacity,
    /// librdkafka properties for every Kafka client (e.g. `session.timeout.ms`).
    pub kafka_properties: Vec<(String, String)>,
    /// How processors read their Kafka inputs.
    pub kafka_reads: Reads,
    /// Where Secrets the manifests do not declare are read: `<dir>/<secret>/<key>`.
    pub secret_dir: Option<PathBuf>,
    /// Where `GET /metrics` is served (every processor's metrics), if anywhere.
    pub metrics_address: Option<SocketAddr>,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            gateway_address: ([127, 0, 0, 1], 6565).into(),
            provisioner_address: ([127, 0, 0, 1], 8080).into(),
            shutdown_timeout: Duration::from_secs(10),
            capacity: Capacity::default(),
            kafka_properties: Vec::new(),
            kafka_reads: Reads::Shared,
            secret_dir: None,
            metrics_address: Some(([127, 0, 0, 1], 9090).into()),
        }
    }
}

/// `<namespace>/<name>`: how resources are keyed in the registries.
pub type NamespacedName = (String, String);

/// How often the manifest files are checked for changes.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// Runs the resources of the manifest files at `paths` until `shutdown` resolves, then drains
/// the processors and stops. While running, a change to the files is applied (see
/// [`running`]); a change that does not load, check or plan is logged and leaves everything as
/// it was.
pub async fn run(
    paths: &[PathBuf],
    options: LocalOptions,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut fingerprint = manifest::fingerprint(paths);
    let secret_dir = options.secret_dir.clone();
    match options.metrics_address {
        Some(address) => serve_metrics(address).await,
        None => crate::metrics::disable(),
    }
    let mut running = Running::new(options);
    running.apply(checked_plan(paths, &secret_dir)?).await?;
    let (gateways, streams, processors) = running.counts();
    tracing::info!(
        gateways,
        streams,
        processors,
        "running; press Ctrl-C to stop"
    );

    tokio::pin!(shutdown);
    let mut reload = tokio::time::interval(RELOAD_EVERY);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = reload.tick() => {}
        }
        let now = manifest::fingerprint(paths);
        if now == fingerprint {
            continue;
        }
        fingerprint = now;
        let applied = match checked_plan(paths, &secret_dir) {
            Ok(plan) => running.apply(plan).await,
            Err(error) => Err(error),
        };
        match applied {
            Ok(Applied { stopped, started }) => {
                tracing::info!(stopped, started, "manifests changed; applied")
            }
            Err(error) => {
                tracing::error!(
                    "manifests changed; not applied, still running the previous ones: {error:#}"
                )
            }
        }
    }
    running.stop().await;
    Ok(())
}

/// The checked plan of the manifest files at `paths`, Secrets they do not declare read from
/// `secret_dir`.
fn checked_plan(paths: &[PathBuf], secret_dir: &Option<PathBuf>) -> anyhow::Result<Plan> {
    let resources = manifest::load(paths)?;
    manifest::check_references(&resources)?;
    Plan::new(&resources, secret_dir.clone())
}

/// Serves `GET /metrics` on `address` in the background. An address in use is a warning, not
/// an error: two `riff local run` on one machine both run, the second without metrics.
async fn serve_metrics(address: SocketAddr) {
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) => {
            return tracing::warn!(
                %address, %error,
                "cannot serve GET /metrics; choose another --metrics-address"
            )
        }
    };
    let bound = listener.local_addr().unwrap_or(address);
    tracing::info!(address = %bound, "serving GET /metrics");
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, crate::metrics::router()).await {
            tracing::error!(%error, "the metrics endpoint stopped");
        }
    });
}

/// `address` with its port shifted by `index` (port 0 stays 0: any free port).
fn nth_port(mut address: SocketAddr, index: usize) -> SocketAddr {
    if address.port() != 0 {
        address.set_port(address.port() + index as u16);
    }
    address
}
