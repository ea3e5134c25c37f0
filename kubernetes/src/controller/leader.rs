//! Leader election on a `coordination.k8s.io/v1` Lease, so that only one of the controller's
//! replicas reconciles: a replica takes the Lease when it is free or expired, renews it every
//! third of its duration, and stops leading when it cannot renew it before it expires.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

/// The Lease the controller replicas compete for.
pub const LEASE_NAME: &str = "riff-streaming-controller-leader";

/// One replica's claim on the Lease.
pub struct LeaderElection {
    api: Api<Lease>,
    identity: String,
    duration: Duration,
}

impl LeaderElection {
    /// A candidate `identity` for the Lease in `namespace`, held for `duration` per renewal.
    pub fn new(client: Client, namespace: &str, identity: &str, duration: Duration) -> Self {
        LeaderElection {
            api: Api::namespaced(client, namespace),
            identity: identity.to_owned(),
            duration,
        }
    }

    /// Waits until this replica holds the Lease. Meanwhile `standing_by` tells whether the
    /// Lease could be read (a healthy standby) or not.
    pub async fn acquire(&self, standing_by: &AtomicBool) {
        loop {
            match self.try_hold().await {
                Ok(true) => {
                    tracing::info!(lease = LEASE_NAME, identity = %self.identity, "leading");
                    return;
                }
                Ok(false) => standing_by.store(true, Ordering::Relaxed),
                Err(error) => {
                    standing_by.store(false, Ordering::Relaxed);
                    tracing::warn!(lease = LEASE_NAME, %error, "leader election failed; retrying");
                }
            }
            tokio::time::sleep(self.duration / 3).await;
        }
    }

    /// Renews the Lease until a renewal fails for longer than the Lease lasts or another replica
    /// took it; then returns (this replica must stop reconciling).
    pub async fn keep(&self) {
        let mut last_renewal = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.duration / 3).await;
            match self.try_hold().await {
                Ok(true) => last_renewal = tokio::time::Instant::now(),
                Ok(false) => break,
                Err(error) => {
                    tracing::warn!(lease = LEASE_NAME, %error, "could not renew the lease");
                    if last_renewal.elapsed() >= self.duration {
                        break;
                    }
                }
            }
        }
        tracing::error!(lease = LEASE_NAME, identity = %self.identity, "lost the lease");
    }

    /// Gives the Lease up if this replica holds it, so that a standby takes over at once rather
    /// than after the Lease expires.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(LEASE_NAME).await else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(&self.identity) {
            return;
        }
        spec.holder_identity = None;
        match self
            .api
            .replace(LEASE_NAME, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                tracing::info!(lease = LEASE_NAME, identity = %self.identity, "released the lease")
            }
            Err(error) => tracing::warn!(lease = LEASE_NAME, %error, "could not release the lease"),
        }
    }

    /// Takes or renews the Lease if it is ours, free or expired; `false` when another holds it.
    async fn try_hold(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let seconds = i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX);
        let Some(mut lease) = self.api.get_opt(LEASE_NAME).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(LEASE_NAME.to_owned()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(error) => Err(error),
            };
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let ours = spec.holder_identity.as_deref() == Some(&self.identity);
        let free = spec.holder_identity.as_deref().is_none_or(str::is_empty);
        let expired = free
            || spec.renew_time.as_ref().is_none_or(|renewed| {
                let held = SignedDuration::from_secs(i64::from(
                    spec.lease_duration_seconds.unwrap_or(seconds),
                ));
                renewed.0 + held < now
            });
        if !ours && !expired {
            return Ok(false);
        }
        if !ours {
            spec.holder_identity = Some(self.identity.clone());
            spec.acquire_time = Some(MicroTime(now));
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.lease_duration_seconds = Some(seconds);
        spec.renew_time = Some(MicroTime(now));
        match self
            .api
            .replace(LEASE_NAME, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(error),
        }
    }
}
