//! Supervision: exponential backoff and the one-line logs operators read.
//!
//! Every actor start, failure and restart is exactly one structured `tracing` event with the
//! fields `resource`, `actor`, `reason`, `attempt` and `next_backoff`.

use std::fmt::Display;
use std::time::Duration;

/// Exponential backoff: `initial`, doubling per attempt, capped at `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff starting at `initial` and never exceeding `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            attempt: 0,
        }
    }

    /// Counts one more failed attempt and returns how long to wait before the next one.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(31));
        self.attempt += 1;
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// Failed attempts since the last success.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Forgets past failures after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

impl Default for Backoff {
    /// 100 ms doubling up to 30 s.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(30))
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
}
