//! Traces of calls, when the process exports them (`OTEL_EXPORTER_OTLP_ENDPOINT`, see the
//! binary's `telemetry`): each call of the function is a span `riff.call` (kind consumer) from
//! its start to its outputs' acknowledgement. Its parent is the W3C `traceparent` of the first
//! record of the window that has one (records without one: a new trace); the other records'
//! traces are links (at most [`MAX_TRACES`] traces per call, the parent's included). Every output record carries the call's
//! `traceparent` (and `tracestate`), so a trace follows a record from processor to processor.
//! Without an exporter no span is made and `traceparent` passes through as any header.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceId};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use parking_lot::Mutex;
use riff_protocol::riff::InputFrame;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::message::Message;

/// The target of call spans: the exporting layer takes these spans only.
pub const TARGET: &str = "riff::call";

/// The W3C trace context header of a record.
const TRACEPARENT: &str = "traceparent";

/// The most traces a call refers to: its parent's and its links'.
pub const MAX_TRACES: usize = 128;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Calls are traced from now on (an exporter takes the spans of [`TARGET`]).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// The span of one call, shared by the call (which ends it) and the frames that reach it later.
#[derive(Clone)]
pub struct CallTrace {
    span: tracing::Span,
    /// The traces linked so far (the parent's first).
    linked: Arc<Mutex<Vec<TraceId>>>,
    /// The call's trace context headers, for its outputs.
    headers: Arc<[(String, String)]>,
}

/// The span context of a record's `traceparent`, when it has a valid one.
fn record_context(frame: &InputFrame) -> Option<SpanContext> {
    frame.headers.get(TRACEPARENT)?;
    let context = TraceContextPropagator::new().extract(&frame.headers);
    let span = context.span().span_context().clone();
    span.is_valid().then_some(span)
}

impl CallTrace {
    /// The span of call `attempt` of `window` of processor `processor` (of `namespace`), whose
    /// first records are `frames`; `None` when calls are not traced.
    pub fn start(
        namespace: &str,
        processor: &str,
        window: u64,
        attempt: u64,
        frames: &[InputFrame],
    ) -> Option<CallTrace> {
        if !ENABLED.load(Ordering::Relaxed) {
            return None;
        }
        let span = tracing::info_span!(
            target: TARGET,
            parent: None,
            "riff.call",
            otel.kind = "consumer",
            riff.namespace = namespace,
            riff.processor = processor,
            riff.window = i64::try_from(window).unwrap_or(i64::MAX),
            riff.attempt = i64::try_from(attempt).unwrap_or(i64::MAX),
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        let parent = frames.iter().find_map(record_context);
        if let Some(parent) = &parent {
            let context = opentelemetry::Context::new().with_remote_span_context(parent.clone());
            _ = span.set_parent(context);
        }
        let mut headers = HashMap::new();
        TraceContextPropagator::new().inject_context(&span.context(), &mut headers);
        headers.retain(|_, value: &mut String| !value.is_empty()); // no empty `tracestate`
        let trace = CallTrace {
            span,
            linked: Arc::new(Mutex::new(
                parent.map(|p| p.trace_id()).into_iter().collect(),
            )),
            headers: headers.into_iter().collect(),
        };
        trace.link(frames);
        Some(trace)
    }

    /// Links the traces of `frames` not linked yet.
    pub fn link(&self, frames: &[InputFrame]) {
        let mut linked = self.linked.lock();
        for context in frames.iter().filter_map(record_context) {
            if linked.len() >= MAX_TRACES {
                return;
            }
            if !linked.contains(&context.trace_id()) {
                linked.push(context.trace_id());
                self.span.add_link(context);
            }
        }
    }

    /// Gives `message` (an output of the call) the call's trace context.
    pub fn stamp(&self, message: &mut Message) {
        for (name, value) in self.headers.iter() {
            message.headers.insert(name.clone(), value.clone());
        }
    }

    /// The call ended: `Err` carries why it failed. The span ends with the last clone.
    pub fn ended(&self, failure: Option<&str>) {
        match failure {
            None => self.span.record("otel.status_code", "OK"),
            Some(reason) => self
                .span
                .record("otel.status_code", "ERROR")
                .record("otel.status_description", reason),
        };
    }
}
