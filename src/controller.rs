//! `riff system controller`: the in-cluster controller reconciling gateways, streams and
//! processors. `SYSTEM_NAMESPACE` (default `riff-system`) holds the image ConfigMaps and the
//! leader-election Lease; the replica's identity is `POD_NAME` or `HOSTNAME`.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use riff_kubernetes::context::ControllerContext;
use riff_kubernetes::controller::{self, ControllerOptions};
use riff_kubernetes::provisioner::Provisioner;

/// The controller's flags.
#[derive(clap::Args)]
pub struct ControllerArgs {
    /// Where `/healthz` and `/readyz` are served.
    #[arg(long, default_value = "0.0.0.0:8081")]
    probes_address: SocketAddr,
    /// Reconcile only while holding the Lease `riff-streaming-controller-leader`.
    #[arg(long)]
    leader_election: bool,
    /// How long a Lease renewal holds, in seconds.
    #[arg(long, default_value_t = 15)]
    lease_duration: u64,
    /// `minReplicaCount` of processors' ScaledObjects (0 lets idle processors scale to zero).
    #[arg(long, default_value_t = 1)]
    min_replicas: i32,
    /// Reach every gateway's provisioner at this address instead of its cluster DNS name (a
    /// controller running outside the cluster, next to a port-forward).
    #[arg(long)]
    provisioner_address: Option<SocketAddr>,
    /// Reconcile the resources of this namespace only (default: every namespace); the
    /// controller then needs its ClusterRole bound only there and in `SYSTEM_NAMESPACE`.
    #[arg(long, env = "WATCH_NAMESPACE")]
    namespace: Option<String>,
}

/// Runs the controller against the cluster of the kubeconfig (or the pod's service account).
pub async fn run(args: ControllerArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes API: set KUBECONFIG or run in a pod")?;
    let system_namespace =
        std::env::var("SYSTEM_NAMESPACE").unwrap_or_else(|_| "riff-system".to_owned());
    let identity = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string());
    let provisioner = args
        .provisioner_address
        .map_or_else(Provisioner::default, Provisioner::resolving_to);
    let mut context = ControllerContext::new(
        client,
        system_namespace,
        provisioner,
        Some(identity.clone()),
    );
    context.min_replicas = args.min_replicas;
    let options = ControllerOptions {
        probes_address: Some(args.probes_address),
        leader_election: args.leader_election,
        identity,
        lease_duration: Duration::from_secs(args.lease_duration),
        namespace: args.namespace,
    };
    controller::run(context, options, shutdown).await
}
