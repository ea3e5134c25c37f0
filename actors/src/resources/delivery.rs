//! Our extension `Processor.spec.delivery`: what a processor does when its function fails a
//! window (retries with backoff, a call timeout, a dead-letter stream).

use std::num::NonZeroU32;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::field_error::{FieldError, FieldErrors};
use super::window::{positive_duration, positive_duration_schema, GO_DURATION};

/// The first retry's delay when `backoff.initial` is not set.
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_millis(100);
/// The longest delay between retries when `backoff.max` is not set.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// `spec.delivery` as written; every field is optional.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryPolicy {
    /// How many calls a window (and, narrowed down, a record) gets before it is given up:
    /// dead-lettered, or, without a dead-letter stream, reading stops there. Unlimited when
    /// absent (riff itself dropped a failed window); 1 means no retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_attempts: Option<u32>,
    /// The delay between attempts: exponential from `initial` (100ms) doubling to `max` (30s),
    /// with full jitter unless `jitter: false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<BackoffPolicy>,
    /// The longest a call may run after its window closed (Go duration); past it the call is
    /// cancelled and counts as a failed attempt. No limit when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = positive_duration_schema)]
    pub timeout: Option<String>,
    /// The Stream (in the processor's namespace) receiving what failed every attempt, and the
    /// records whose content type the input stream refuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<DeadLetter>,
}

/// `spec.delivery.backoff`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!has(self.initial) || !has(self.max) || duration(self.initial) <= duration(self.max)",
    "message": "initial must not exceed max",
}]))]
pub struct BackoffPolicy {
    /// The delay before the first retry (Go duration, default 100ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(GO_DURATION))]
    pub initial: Option<String>,
    /// The longest delay between attempts (Go duration, default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(GO_DURATION))]
    pub max: Option<String>,
    /// Full jitter (each delay drawn between zero and its exponential value); default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<bool>,
}

/// `spec.delivery.deadLetter`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// The Stream's name.
    #[serde(default)]
    #[schemars(length(min = 1, max = 253))]
    pub stream: String,
}

/// A checked delivery policy, defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedDelivery {
    /// Calls a window or record gets; `None`: unlimited.
    pub max_attempts: Option<NonZeroU32>,
    /// The delays between attempts.
    pub backoff: RetryBackoff,
    /// How long a call may run after its window closed.
    pub timeout: Option<Duration>,
    /// The dead-letter stream's name.
    pub dead_letter: Option<String>,
}

/// Exponential backoff bounds, with or without full jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryBackoff {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
    /// Whether each delay is drawn uniformly between zero and its exponential value.
    pub jitter: bool,
}

impl Default for RetryBackoff {
    /// 100ms doubling to 30s, full jitter.
    fn default() -> Self {
        RetryBackoff {
            initial: DEFAULT_BACKOFF_INITIAL,
            max: DEFAULT_BACKOFF_MAX,
            jitter: true,
        }
    }
}

impl Default for ResolvedDelivery {
    /// Retried until it succeeds, no timeout, no dead-letter stream (riff dropped a failed
    /// window: nothing is lost here).
    fn default() -> Self {
        ResolvedDelivery {
            max_attempts: None,
            backoff: RetryBackoff::default(),
            timeout: None,
            dead_letter: None,
        }
    }
}

impl DeliveryPolicy {
    /// Parses and checks the policy, applying defaults. Error paths are relative to the policy
    /// (`maxAttempts`, `backoff.initial`, ...).
    pub fn resolve(&self) -> Result<ResolvedDelivery, FieldErrors> {
        let mut errors = FieldErrors::new();
        let max_attempts = match self.max_attempts {
            Some(0) => {
                errors.push(FieldError::invalid(
                    "maxAttempts",
                    0u64,
                    "must be at least 1",
                ));
                None
            }
            attempts => attempts.and_then(NonZeroU32::new),
        };
        let mut backoff = RetryBackoff::default();
        if let Some(policy) = &self.backoff {
            let duration = |field, text: &Option<String>, errors: &mut FieldErrors| {
                text.as_deref()
                    .and_then(|text| positive_duration(field, text, errors))
            };
            let initial = duration("backoff.initial", &policy.initial, &mut errors);
            let max = duration("backoff.max", &policy.max, &mut errors);
            backoff.initial = initial.unwrap_or(DEFAULT_BACKOFF_INITIAL);
            backoff.max = max.unwrap_or(DEFAULT_BACKOFF_MAX.max(backoff.initial));
            if backoff.initial > backoff.max {
                let detail = "must not exceed backoff.max";
                let initial = policy.initial.as_deref().unwrap_or_default();
                errors.push(FieldError::invalid("backoff.initial", initial, detail));
            }
            backoff.jitter = policy.jitter.unwrap_or(true);
        }
        let timeout = self
            .timeout
            .as_deref()
            .and_then(|text| positive_duration("timeout", text, &mut errors));
        let dead_letter = self.dead_letter.as_ref().map(|d| d.stream.clone());
        if dead_letter.as_deref() == Some("") {
            errors.push(FieldError::required("deadLetter.stream", ""));
        }
        errors.into_result()?;
        Ok(ResolvedDelivery {
            max_attempts,
            backoff,
            timeout,
            dead_letter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(yaml: &str) -> DeliveryPolicy {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn nothing_set_is_riffs_retry_forever() {
        let resolved = DeliveryPolicy::default().resolve().unwrap();
        assert_eq!(resolved, ResolvedDelivery::default());
        assert_eq!(resolved.max_attempts, None);
        assert!(resolved.backoff.jitter);
    }

    #[test]
    fn every_field_resolves() {
        let resolved = policy(
            "{maxAttempts: 3, backoff: {initial: 10ms, max: 1s, jitter: false}, \
             timeout: 5s, deadLetter: {stream: failed}}",
        )
        .resolve()
        .unwrap();
        assert_eq!(
            resolved,
            ResolvedDelivery {
                max_attempts: NonZeroU32::new(3),
                backoff: RetryBackoff {
                    initial: Duration::from_millis(10),
                    max: Duration::from_secs(1),
                    jitter: false
                },
                timeout: Some(Duration::from_secs(5)),
                dead_letter: Some("failed".into()),
            }
        );
    }

    #[test]
    fn a_large_initial_raises_the_default_max() {
        let resolved = policy("{backoff: {initial: 1m}}").resolve().unwrap();
        assert_eq!(resolved.backoff.max, Duration::from_secs(60));
    }

    #[test]
    fn bad_values_are_field_errors() {
        let errors = policy(
            "{maxAttempts: 0, backoff: {initial: 2s, max: 1s}, timeout: soon, \
             deadLetter: {stream: ''}}",
        )
        .resolve()
        .unwrap_err()
        .to_string();
        assert_eq!(
            errors,
            r#"[maxAttempts: Invalid value: 0: must be at least 1, backoff.initial: Invalid value: "2s": must not exceed backoff.max, timeout: Invalid value: "soon": must be a duration such as 500ms, 10s or 1m, deadLetter.stream: Required value]"#
        );
        let zero = policy("{timeout: 0s}").resolve().unwrap_err().to_string();
        assert_eq!(
            zero,
            r#"timeout: Invalid value: "0s": must be greater than zero"#
        );
    }
}
