//! Waiting for conditions instead of sleeping.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is checked again.
const POLL: Duration = Duration::from_millis(20);

/// Checks `check` until it answers, at most `timeout`; fails naming `what` after that.
pub fn eventually<T>(what: impl Display, timeout: Duration, check: impl FnMut() -> Option<T>) -> T {
    let answer = within(timeout, check);
    answer.unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}

/// Checks `check` until it answers, at most `timeout`: its answer, or `None` once that passed.
pub fn within<T>(timeout: Duration, check: impl FnMut() -> Option<T>) -> Option<T> {
    within_every(POLL, timeout, check)
}

/// [`within`], checking every `every` (a check that costs the system under test something).
pub fn within_every<T>(
    every: Duration,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// [`eventually`] for a check that awaits, on the test's runtime.
pub async fn eventually_async<T, F>(
    what: impl Display,
    timeout: Duration,
    mut check: impl FnMut() -> F,
) -> T
where
    F: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Checks that `check` holds for all of `duration` (something that must not happen does not):
/// call it only once the positive event it follows has come, or it proves nothing.
pub async fn stays(what: &str, duration: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        assert!(check(), "{what}");
        tokio::time::sleep(POLL).await;
    }
}
