//! OpenTelemetry traces, exported over OTLP/gRPC when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; off otherwise. The exporter reads the standard
//! `OTEL_*` variables (endpoint, headers, timeout); sampling follows `OTEL_TRACES_SAMPLER`
//! (default `parentbased_always_on`) and the service is `OTEL_SERVICE_NAME` (default `riff`).
//! Only the call spans of [`riff_actors::traces`] are exported.

use anyhow::{bail, Context as _};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The process's trace exporter: spans still buffered are sent when it is shut down.
pub struct Telemetry(SdkTracerProvider);

/// The endpoint traces go to, when one is set.
fn endpoint() -> Option<String> {
    [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .into_iter()
    .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
}

/// The layer exporting call spans, and its exporter; `None` when no endpoint is set. Must run
/// inside the tokio runtime (the gRPC client lives on it).
pub fn layer<S>() -> anyhow::Result<Option<(impl Layer<S>, Telemetry)>>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    let Some(endpoint) = endpoint() else {
        return Ok(None);
    };
    let protocol = std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL").unwrap_or_default();
    if !matches!(protocol.as_str(), "" | "grpc") {
        bail!("OTEL_EXPORTER_OTLP_PROTOCOL={protocol}: riff exports traces over grpc only");
    }
    if !endpoint.starts_with("http://") {
        bail!("OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}: riff exports traces over plain-text gRPC only (http://host:port)");
    }
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.clone())
        .build()
        .with_context(|| format!("the OTLP exporter to {endpoint}"))?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "riff".to_owned());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    let tracer = provider.tracer("riff");
    // A static filter: every other callsite is decided once, never per event.
    let calls = Targets::new().with_target(riff_actors::traces::TARGET, tracing::Level::INFO);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(calls);
    riff_actors::traces::enable();
    tracing::info!(%endpoint, "exporting traces of calls over OTLP");
    Ok(Some((layer, Telemetry(provider))))
}

impl Telemetry {
    /// Sends the spans still buffered and stops exporting.
    pub async fn shutdown(self) {
        let provider = self.0;
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(error)) = flushed {
            tracing::warn!(%error, "the last spans were not exported");
        }
    }
}
