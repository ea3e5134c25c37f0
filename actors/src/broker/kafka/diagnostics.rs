//! librdkafka's logs and errors as log lines an operator can read. librdkafka reports a broker
//! it cannot reach several times a second, from every client; here each kind of problem is a
//! WARN line at most once a minute per cluster (saying how often it repeated meanwhile), and
//! the repeats are DEBUG lines.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

use crate::broker::BrokerError;

/// How long a kind of problem stays quiet after its WARN line.
const QUIET: Duration = Duration::from_secs(60);

/// The context of every Kafka client of a broker: the problems of its cluster's clients, and
/// when each was last a WARN line (shared by the clones each client holds).
#[derive(Clone)]
pub(super) struct Diagnostics {
    cluster: String,
    warned: Arc<Mutex<HashMap<String, Warned>>>,
    /// The last authentication or TLS failure and when it happened, which explains the
    /// timeouts that follow it.
    refused: Arc<Mutex<Option<(Instant, &'static str)>>>,
}

struct Warned {
    at: Instant,
    repeats: u64,
}

impl Diagnostics {
    /// Diagnostics for the clients of `cluster` (as [`super::KafkaSettings::cluster`] names it).
    pub(super) fn new(cluster: &str) -> Self {
        Diagnostics {
            cluster: cluster.to_owned(),
            warned: Arc::default(),
            refused: Arc::default(),
        }
    }

    /// `error`, with the cluster's authentication or TLS failure when there was one in the
    /// last minute: an operation that timed out because the cluster refused riff says why.
    pub(super) fn explain(&self, error: BrokerError) -> BrokerError {
        let refused = *self.refused.lock().unwrap_or_else(|e| e.into_inner());
        let recent = refused
            .filter(|(at, _)| at.elapsed() < QUIET)
            .map(|(_, cause)| cause);
        match (error, recent) {
            (BrokerError::Unavailable(message), Some(cause)) => {
                BrokerError::Unavailable(format!("{message} ({cause})"))
            }
            (error, _) => error,
        }
    }

    /// Whether a problem of `kind` seen at `now` deserves a WARN line: `Some(repeats)` (how often
    /// it repeated since the last one) when its last WARN line is older than [`QUIET`].
    fn throttle(&self, kind: &str, now: Instant) -> Option<u64> {
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        match warned.get_mut(kind) {
            Some(last) if now.duration_since(last.at) < QUIET => {
                last.repeats += 1;
                None
            }
            _ => {
                let fresh = Warned {
                    at: now,
                    repeats: 0,
                };
                Some(
                    warned
                        .insert(kind.to_owned(), fresh)
                        .map_or(0, |w| w.repeats),
                )
            }
        }
    }

    fn report(&self, kind: &str, message: &str) {
        match self.throttle(kind, Instant::now()) {
            Some(repeats) => tracing::warn!(
                cluster = %self.cluster, kind, suppressed = repeats, "kafka: {message}"
            ),
            None => tracing::debug!(cluster = %self.cluster, kind, "kafka: {message}"),
        }
    }
}

impl ClientContext for Diagnostics {
    /// A librdkafka log line: warnings and worse are problems of kind `facility`.
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error
            | RDKafkaLogLevel::Warning => self.report(facility, message),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(cluster = %self.cluster, facility, "kafka: {message}")
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(cluster = %self.cluster, facility, "kafka: {message}")
            }
        }
    }

    /// A librdkafka client error: a problem of the kind of its error code.
    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        let kind = code.map_or_else(|| error.to_string(), |code| format!("{code:?}"));
        let Some(cause) = refusal(code, reason) else {
            return self.report(&kind, &format!("{error}: {reason}"));
        };
        *self.refused.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), cause));
        self.report(&kind, &format!("{cause}; {error}: {reason}"));
    }
}

/// Why the cluster refused riff, when a librdkafka error of `code` with `reason` says so.
/// librdkafka reports a broker certificate it cannot verify with the SSL code when the
/// handshake fails after its first step, but as a transport failure (OpenSSL's text alone:
/// `error:0A000086:SSL routines::certificate verify failed`) when the very first step already
/// fails, which on a quick connection it often does.
fn refusal(code: Option<RDKafkaErrorCode>, reason: &str) -> Option<&'static str> {
    const TLS: &str = "TLS failed: is the broker's certificate trusted (tls.caCert) and issued \
                       for the host riff reaches it by?";
    match code {
        Some(RDKafkaErrorCode::Authentication) => {
            Some("authentication failed: check the gateway's sasl mechanism, user and password")
        }
        Some(RDKafkaErrorCode::SSL) => Some(TLS),
        Some(RDKafkaErrorCode::BrokerTransportFailure)
            if reason.contains("certificate verify failed") =>
        {
            Some(TLS)
        }
        _ => None,
    }
}

impl ConsumerContext for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeating_problem_warns_once_a_minute_with_its_repeat_count() {
        let diagnostics = Diagnostics::new("kafka:9092");
        let start = Instant::now();
        assert_eq!(diagnostics.throttle("AllBrokersDown", start), Some(0));
        for second in 1..=59 {
            let now = start + Duration::from_secs(second);
            assert_eq!(diagnostics.throttle("AllBrokersDown", now), None);
        }
        let minute_later = start + QUIET;
        assert_eq!(
            diagnostics.throttle("AllBrokersDown", minute_later),
            Some(59)
        );
        assert_eq!(diagnostics.throttle("AllBrokersDown", minute_later), None);
    }

    #[test]
    fn an_unverified_certificate_is_a_tls_failure_whichever_way_librdkafka_reports_it() {
        // Both as librdkafka 2.12 with OpenSSL 3 words them.
        let handshake = "ssl://127.0.0.1:9093/bootstrap: SSL handshake failed: \
            error:0A000086:SSL routines::certificate verify failed: broker certificate could \
            not be verified, verify that ssl.ca.location is correctly configured or root CA \
            certificates are installed (install ca-certificates package) (after 6ms in state \
            SSL_HANDSHAKE)";
        let connect = "ssl://127.0.0.1:9093/bootstrap: error:0A000086:SSL routines::\
            certificate verify failed (after 3ms in state SSL_HANDSHAKE)";
        for (code, reason) in [
            (RDKafkaErrorCode::SSL, handshake),
            (RDKafkaErrorCode::BrokerTransportFailure, connect),
        ] {
            let cause = refusal(Some(code), reason).expect("a refusal");
            assert!(cause.starts_with("TLS failed"), "{code:?}: {cause}");
        }
        let refused = "ssl://127.0.0.1:9093/bootstrap: Connect to ipv4#127.0.0.1:9093 failed: \
            Connection refused (after 0ms in state CONNECT)";
        let transport = RDKafkaErrorCode::BrokerTransportFailure;
        assert_eq!(refusal(Some(transport), refused), None);
    }

    #[test]
    fn each_kind_of_problem_warns_on_its_own() {
        let diagnostics = Diagnostics::new("kafka:9092");
        let now = Instant::now();
        assert_eq!(diagnostics.throttle("AllBrokersDown", now), Some(0));
        assert_eq!(diagnostics.throttle("FAIL", now), Some(0));
        assert_eq!(diagnostics.throttle("AllBrokersDown", now), None);
    }
}
