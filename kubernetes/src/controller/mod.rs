//! The controller: once this replica leads, kube-rs watchers feed one supervised actor per
//! resource, each reconciling its resource's children and status (docs/riff-compatibility.md §2).

mod actor;
mod leader;
mod probes;
mod registry;
mod watch;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub use leader::LEASE_NAME;
pub use registry::Kind;

use super::context::ControllerContext;
use leader::LeaderElection;
use probes::Readiness;
use registry::Registry;

/// How the controller runs.
pub struct ControllerOptions {
    /// Where the probes and metrics are served (`None`: not served).
    pub probes_address: Option<SocketAddr>,
    /// Whether to hold the Lease [`LEASE_NAME`] in the system namespace before reconciling.
    pub leader_election: bool,
    /// This replica's identity in the Lease (the pod name).
    pub identity: String,
    /// How long a Lease renewal holds.
    pub lease_duration: Duration,
    /// The one namespace whose resources are reconciled (`None`: every namespace).
    pub namespace: Option<String>,
}

/// The watchers and actors of a leading replica; dropping it stops them all.
struct Leading {
    watchers: Vec<tokio::task::JoinHandle<()>>,
    registry: Registry,
}

impl Drop for Leading {
    fn drop(&mut self) {
        for watcher in &self.watchers {
            watcher.abort();
        }
        self.registry.forget_all();
    }
}

/// Runs the controller until `shutdown` completes (`Ok`, the Lease released) or this replica
/// loses its Lease (an error: the process should exit so that it restarts as a candidate).
pub async fn run(
    context: ControllerContext,
    options: ControllerOptions,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let ready = Readiness::default();
    let probes = options
        .probes_address
        .map(|address| actix::spawn(probes::serve(address, ready.clone())));
    let election = options.leader_election.then(|| {
        LeaderElection::new(
            context.client.clone(),
            &context.system_namespace,
            &options.identity,
            options.lease_duration,
        )
    });
    let lead = async {
        if let Some(election) = &election {
            election.acquire(&ready).await;
        }
        let registry = Registry::new(context.clone());
        let _running = Leading {
            watchers: watch::spawn_all(
                &context.client,
                &registry,
                &context.system_namespace,
                options.namespace.as_deref(),
            ),
            registry,
        };
        ready.store(true, Ordering::Relaxed);
        let watching = options.namespace.as_deref().unwrap_or("every namespace");
        tracing::info!(system_namespace = %context.system_namespace, watching, "controller running");
        match &election {
            Some(election) => election.keep().await,
            None => std::future::pending().await,
        }
    };
    let result = tokio::select! {
        () = lead => Err(anyhow::anyhow!("lost the leader-election lease {LEASE_NAME}")),
        () = shutdown => Ok(()),
    };
    if let (Ok(()), Some(election)) = (&result, &election) {
        election.release().await;
    }
    if let Some(probes) = probes {
        probes.abort();
    }
    result
}
