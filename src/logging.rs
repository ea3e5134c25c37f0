//! Supervision logs for operators (human-readable by default, JSON when asked) and, when an
//! OTLP endpoint is set, the traces of calls ([`crate::telemetry`]).

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::telemetry::{self, Telemetry};

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event.
    Json,
}

/// Installs the global subscriber; `RUST_LOG` overrides the default `info` level of the logs
/// (not of the traces). Runs inside the tokio runtime; the traces' exporter is returned, to be
/// shut down last.
pub fn init(format: LogFormat) -> Option<Telemetry> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Text => logs.boxed(),
        LogFormat::Json => logs.json().flatten_event(true).boxed(),
    };
    let registry = tracing_subscriber::registry().with(logs.with_filter(filter));
    match telemetry::layer() {
        Ok(Some((traces, telemetry))) => {
            registry.with(traces).init();
            Some(telemetry)
        }
        Ok(None) => {
            registry.init();
            None
        }
        Err(error) => {
            registry.init();
            tracing::warn!("traces are not exported: {error:#}");
            None
        }
    }
}
