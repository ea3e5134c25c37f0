//! The process's Prometheus metrics: one registry per process, rendered as OpenMetrics text at
//! `GET /metrics` (the processor sidecar's status port, the gateway's provisioner port, the
//! controller's probes port, `riff local run --metrics-address`). Each part of the runtime
//! registers its families the first time it is used, so a process shows only what it runs:
//! [`processor`] (what moves the data), [`gateway`] (the liiklus and provisioner APIs) and
//! [`controller`] (reconcile passes). Labels are bounded: namespaces, resources, aliases,
//! partitions and causes, never a key, an offset or an error text.

pub mod controller;
pub mod gateway;
pub mod processor;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::LazyLock;

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;
use parking_lot::Mutex;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};

pub use processor::{ProcessorMetrics, StreamCounter};

/// The content type of OpenMetrics text.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The process's registry; every family is named `riff_...`.
static REGISTRY: LazyLock<Mutex<Registry>> =
    LazyLock::new(|| Mutex::new(Registry::with_prefix("riff")));

/// Adds `metric` to the process's registry as `riff_<name>`.
fn register(name: &str, help: &str, metric: impl Metric) {
    REGISTRY.lock().register(name, help, metric);
}

/// A family of histograms, each made by a plain function (so the family is `'static`).
type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds, 1 ms to about a minute.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// Whether the process counts at all: not when it serves no metrics.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// The process serves no metrics: nothing is counted from now on.
pub fn disable() {
    ENABLED.store(false, Ordering::Relaxed);
}

fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The metrics as OpenMetrics text, the values read from brokers (lag, reachability) looked up
/// first.
pub async fn render() -> String {
    processor::refresh_lag().await;
    gateway::refresh_reachability().await;
    let mut text = String::new();
    encode(&mut text, &REGISTRY.lock()).expect("writing to a String cannot fail");
    text
}

/// `GET /metrics`.
pub fn router() -> Router {
    Router::new().route(
        "/metrics",
        get(|| async { ([(CONTENT_TYPE, OPENMETRICS)], render().await) }),
    )
}
