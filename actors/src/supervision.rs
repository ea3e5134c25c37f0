//! Supervision: exponential backoff and the one-line logs operators read.
//!
//! Every actor start, failure and restart is exactly one structured `tracing` event with the
//! fields `resource`, `actor`, `reason`, `attempt` and `next_backoff`.

use std::fmt::Display;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use crate::resources::RetryBackoff;

/// Exponential backoff (backon's): `initial`, doubling per attempt, capped at `max`; with full
/// jitter, each delay is drawn uniformly between zero and that value.
#[derive(Debug)]
pub struct Backoff {
    builder: ExponentialBuilder,
    delays: ExponentialBackoff,
    max: Duration,
    jitter: bool,
    attempt: u32,
}

impl Backoff {
    /// A backoff starting at `initial` and never exceeding `max`, without jitter.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let builder = ExponentialBuilder::new()
            .with_min_delay(initial)
            .with_max_delay(max)
            .with_factor(2.0)
            .without_max_times();
        Backoff {
            delays: builder.build(),
            builder,
            max,
            jitter: false,
            attempt: 0,
        }
    }

    /// The same backoff with full jitter: retries of many processors do not fall in step.
    pub fn with_jitter(self, jitter: bool) -> Self {
        Backoff { jitter, ..self }
    }

    /// Counts one more failed attempt and returns how long to wait before the next one.
    pub fn next_delay(&mut self) -> Duration {
        self.attempt += 1;
        let delay = self.delays.next().unwrap_or(self.max).min(self.max);
        if self.jitter {
            delay.mul_f64(fastrand::f64())
        } else {
            delay
        }
    }

    /// The longest delay.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// Failed attempts since the last success.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Forgets past failures after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
        self.delays = self.builder.build();
    }
}

impl Default for Backoff {
    /// 100 ms doubling up to 30 s.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(30))
    }
}

impl From<RetryBackoff> for Backoff {
    fn from(policy: RetryBackoff) -> Self {
        Backoff::new(policy.initial, policy.max).with_jitter(policy.jitter)
    }
}

/// Logs that `actor` of `resource` started.
pub fn started(resource: &str, actor: &str) {
    tracing::info!(resource, actor, "started");
}

/// Logs that `actor` of `resource` stopped normally.
pub fn stopped(resource: &str, actor: &str) {
    tracing::info!(resource, actor, "stopped");
}

/// Logs a failure of `actor` of `resource`, the attempt it was and the wait before the retry.
pub fn failed(
    resource: &str,
    actor: &str,
    reason: &dyn Display,
    attempt: u32,
    next_backoff: Duration,
) {
    tracing::warn!(
        resource,
        actor,
        reason = %reason,
        attempt,
        next_backoff = ?next_backoff,
        "failed"
    );
}

/// Logs the outcome of one reconcile pass of `resource`: its Ready summary and the Ready
/// condition's message (`detail`). A pass that changed the status is logged at INFO, one that
/// found everything as it was at DEBUG (passes are triggered by every watched change).
pub fn reconciled(resource: &str, ready: &str, detail: &str, status_changed: bool) {
    if status_changed {
        tracing::info!(resource, ready, detail, "reconciled");
    } else {
        tracing::debug!(resource, ready, detail, "reconciled, unchanged");
    }
}

/// Logs that `actor` of `resource` is restarting after `attempt` failures.
pub fn restarting(resource: &str, actor: &str, reason: &dyn Display, attempt: u32) {
    tracing::info!(resource, actor, reason = %reason, attempt, "restarting");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let delays: Vec<_> = (0..5).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        assert_eq!(backoff.attempt(), 5);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn full_jitter_stays_under_the_exponential_delay() {
        let mut backoff =
            Backoff::new(Duration::from_millis(100), Duration::from_millis(400)).with_jitter(true);
        let delays: Vec<_> = (0..200).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] <= Duration::from_millis(100));
        assert!(delays
            .iter()
            .all(|delay| *delay <= Duration::from_millis(400)));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 100, "delays are drawn at random");
    }
}
