//! The metrics of processors, wherever they run (a sidecar, `riff local run`): records read and
//! written per input and output, calls, their duration, size and failures by cause, dead
//! letters, function restarts, records and bytes in flight, and the consumer lag per input
//! partition (looked up on each read of the metrics, never in the background).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

use super::{enabled, register, seconds, HistogramFamily};
use crate::broker::Broker;

/// A processor.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProcessorLabels {
    pub namespace: String,
    pub processor: String,
}

/// One input or output of a processor, by alias.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BindingLabels {
    namespace: String,
    processor: String,
    stream: String,
}

/// One partition of a processor's input.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabels {
    namespace: String,
    processor: String,
    stream: String,
    partition: u32,
}

/// Why a call failed: `function` (an error, a protocol violation, a crash), `timeout`, or
/// `infrastructure` (the function unreachable, an output the broker refused).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    namespace: String,
    processor: String,
    cause: &'static str,
}

/// Every family of processors.
struct Families {
    records_read: Family<BindingLabels, Counter>,
    records_written: Family<BindingLabels, Counter>,
    calls: Family<ProcessorLabels, Counter>,
    call_failures: Family<FailureLabels, Counter>,
    call_seconds: HistogramFamily<ProcessorLabels>,
    window_records: HistogramFamily<ProcessorLabels>,
    window_seconds: HistogramFamily<ProcessorLabels>,
    dead_letters: Family<ProcessorLabels, Counter>,
    late_records: Family<ProcessorLabels, Counter>,
    function_restarts: Family<ProcessorLabels, Counter>,
    in_flight_records: Family<ProcessorLabels, Gauge>,
    in_flight_bytes: Family<ProcessorLabels, Gauge>,
    consumer_lag: Family<PartitionLabels, Gauge>,
    /// The inputs whose lag is looked up when the metrics are read.
    lagging: Mutex<Vec<LagSource>>,
}

/// An input whose consumer lag is reported: its broker, topic and group.
struct LagSource {
    labels: BindingLabels,
    broker: Arc<dyn Broker>,
    topic: String,
    group: String,
}

fn window_records() -> Histogram {
    // 1 to about a million records.
    Histogram::new(exponential_buckets(1.0, 4.0, 11))
}

static FAMILIES: OnceLock<Families> = OnceLock::new();

/// The families, registered on first use.
fn families() -> &'static Families {
    FAMILIES.get_or_init(|| {
        let f = Families {
            records_read: Family::default(),
            records_written: Family::default(),
            calls: Family::default(),
            call_failures: Family::default(),
            call_seconds: Family::new_with_constructor(seconds),
            window_records: Family::new_with_constructor(window_records),
            window_seconds: Family::new_with_constructor(seconds),
            dead_letters: Family::default(),
            late_records: Family::default(),
            function_restarts: Family::default(),
            in_flight_records: Family::default(),
            in_flight_bytes: Family::default(),
            consumer_lag: Family::default(),
            lagging: Mutex::default(),
        };
        let read = "Records read from an input stream";
        register("records_read", read, f.records_read.clone());
        let written = "Records written to an output stream";
        register("records_written", written, f.records_written.clone());
        let dead = "Records moved to the dead-letter stream";
        register("dead_letters", dead, f.dead_letters.clone());
        let late = "Records that came after every event-time window they belong to closed";
        register("late_records", late, f.late_records.clone());
        let calls = "Calls of the function that completed, one per window (or part of one)";
        register("calls", calls, f.calls.clone());
        let failures = "Calls of the function that failed, by cause";
        register("call_failures", failures, f.call_failures.clone());
        let took = "Seconds from a call's start to its outputs' acknowledgement";
        register("call_duration_seconds", took, f.call_seconds.clone());
        register(
            "window_records",
            "Records per call",
            f.window_records.clone(),
        );
        let open = "Seconds a window stayed open, from its first record to its close";
        register("window_duration_seconds", open, f.window_seconds.clone());
        let restarts = "Restarts of the function process";
        register("function_restarts", restarts, f.function_restarts.clone());
        let records = "Input records read and not yet committed";
        register("in_flight_records", records, f.in_flight_records.clone());
        let bytes = "Payload bytes of the input records read and not yet committed";
        register("in_flight_bytes", bytes, f.in_flight_bytes.clone());
        let lag = "Records of an input partition not yet committed by the processor's group";
        register("consumer_lag", lag, f.consumer_lag.clone());
        f
    })
}

/// The metrics of one processor: its series, created once (every update is an atomic add).
#[derive(Clone)]
pub struct ProcessorMetrics {
    labels: ProcessorLabels,
    calls: Counter,
    call_seconds: Histogram,
    window_records: Histogram,
    window_seconds: Histogram,
    /// By cause: function, timeout, infrastructure.
    failures: [Counter; 3],
    dead_letters: Counter,
    late_records: Counter,
    function_restarts: Counter,
    in_flight_records: Gauge,
    in_flight_bytes: Gauge,
}

/// The records of one input or output of a processor.
#[derive(Clone)]
pub struct StreamCounter(Counter);

impl StreamCounter {
    /// `records` more.
    pub fn add(&self, records: usize) {
        if enabled() {
            self.0.inc_by(records as u64);
        }
    }
}

impl ProcessorMetrics {
    /// The metrics of processor `name` of `namespace`.
    pub fn new(namespace: &str, name: &str) -> Self {
        let labels = ProcessorLabels {
            namespace: namespace.to_owned(),
            processor: name.to_owned(),
        };
        let f = families();
        let failure = |cause| {
            let labels = FailureLabels {
                namespace: namespace.to_owned(),
                processor: name.to_owned(),
                cause,
            };
            f.call_failures.get_or_create(&labels).clone()
        };
        ProcessorMetrics {
            calls: f.calls.get_or_create(&labels).clone(),
            call_seconds: f.call_seconds.get_or_create(&labels).clone(),
            window_records: f.window_records.get_or_create(&labels).clone(),
            window_seconds: f.window_seconds.get_or_create(&labels).clone(),
            failures: ["function", "timeout", "infrastructure"].map(failure),
            dead_letters: f.dead_letters.get_or_create(&labels).clone(),
            late_records: f.late_records.get_or_create(&labels).clone(),
            function_restarts: f.function_restarts.get_or_create(&labels).clone(),
            in_flight_records: f.in_flight_records.get_or_create(&labels).clone(),
            in_flight_bytes: f.in_flight_bytes.get_or_create(&labels).clone(),
            labels,
        }
    }

    /// The processor's namespace and name.
    pub fn labels(&self) -> &ProcessorLabels {
        &self.labels
    }

    fn binding(&self, stream: &str) -> BindingLabels {
        BindingLabels {
            namespace: self.labels.namespace.clone(),
            processor: self.labels.processor.clone(),
            stream: stream.to_owned(),
        }
    }

    /// The records read from input `alias`.
    pub fn reads(&self, alias: &str) -> StreamCounter {
        StreamCounter(
            families()
                .records_read
                .get_or_create(&self.binding(alias))
                .clone(),
        )
    }

    /// The records written to output `alias` (acknowledged by the broker).
    pub fn writes(&self, alias: &str) -> StreamCounter {
        StreamCounter(
            families()
                .records_written
                .get_or_create(&self.binding(alias))
                .clone(),
        )
    }

    /// A call of `records` records completed after `took`.
    pub fn call_completed(&self, records: usize, took: Duration) {
        if !enabled() {
            return;
        }
        self.calls.inc();
        self.call_seconds.observe(took.as_secs_f64());
        self.window_records.observe(records as f64);
    }

    /// A window closed after being open for `open_for` (its first record to its close).
    pub fn window_closed(&self, open_for: Duration) {
        if enabled() {
            self.window_seconds.observe(open_for.as_secs_f64());
        }
    }

    /// A call failed: `counted` against the records (the function's fault), or a timeout.
    pub fn call_failed(&self, counted: bool, timed_out: bool) {
        if !enabled() {
            return;
        }
        let cause = match (timed_out, counted) {
            (true, _) => 1,
            (false, true) => 0,
            (false, false) => 2,
        };
        self.failures[cause].inc();
    }

    /// A record went to the dead-letter stream.
    pub fn dead_lettered(&self) {
        if enabled() {
            self.dead_letters.inc();
        }
    }

    /// A record came after its event-time windows closed.
    pub fn late(&self) {
        if enabled() {
            self.late_records.inc();
        }
    }

    /// The function process was restarted.
    pub fn function_restarted(&self) {
        if enabled() {
            self.function_restarts.inc();
        }
    }

    /// Now `records` input records, holding `bytes` of payload, are read and not committed.
    pub fn in_flight(&self, records: u64, bytes: u64) {
        if enabled() {
            self.in_flight_records
                .set(i64::try_from(records).unwrap_or(i64::MAX));
            self.in_flight_bytes
                .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
    }

    /// Input `alias` is `topic` on `broker`, read as `group`: its lag is looked up on each read
    /// of the metrics (never in the background: an idle processor costs the broker nothing).
    pub fn track_lag(&self, alias: &str, broker: Arc<dyn Broker>, topic: &str, group: &str) {
        if !enabled() {
            return;
        }
        let labels = self.binding(alias);
        let mut lagging = families().lagging.lock();
        lagging.retain(|source| source.labels != labels);
        lagging.push(LagSource {
            labels,
            broker,
            topic: topic.to_owned(),
            group: group.to_owned(),
        });
    }

    /// The processor stopped: its lag is no longer looked up.
    pub fn forget(&self) {
        let mut lagging = families().lagging.lock();
        lagging.retain(|source| {
            source.labels.namespace != self.labels.namespace
                || source.labels.processor != self.labels.processor
        });
    }
}

/// Looks up the lag of every tracked input: end offset minus committed position, per
/// partition (a partition never committed lags by all its records).
pub(super) async fn refresh_lag() {
    let Some(families) = FAMILIES.get() else {
        return; // no processor in this process
    };
    let sources: Vec<_> = families
        .lagging
        .lock()
        .iter()
        .map(|s| {
            (
                s.labels.clone(),
                s.broker.clone(),
                s.topic.clone(),
                s.group.clone(),
            )
        })
        .collect();
    for (labels, broker, topic, group) in sources {
        let (Ok(ends), Ok(committed)) = (
            broker.end_offsets(&topic).await,
            broker.committed(&topic, &group).await,
        ) else {
            continue; // the broker did not answer: the last values stay
        };
        for (partition, end) in ends {
            let lag = match committed.get(&partition) {
                Some(&position) => end.saturating_sub(position),
                None => end + 1,
            };
            let labels = PartitionLabels {
                namespace: labels.namespace.clone(),
                processor: labels.processor.clone(),
                stream: labels.stream.clone(),
                partition,
            };
            let gauge = families.consumer_lag.get_or_create(&labels);
            gauge.set(i64::try_from(lag).unwrap_or(i64::MAX));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::render;

    #[tokio::test]
    async fn counters_and_histograms_render_as_openmetrics_with_bounded_labels() {
        let metrics = ProcessorMetrics::new("dev", "metrics-test");
        metrics.reads("in").add(3);
        metrics.writes("out").add(2);
        metrics.call_completed(3, Duration::from_millis(20));
        metrics.window_closed(Duration::from_millis(500));
        metrics.call_failed(true, false);
        metrics.call_failed(false, true);
        metrics.dead_lettered();
        metrics.in_flight(5, 500);
        let text = render().await;
        let labels = r#"namespace="dev",processor="metrics-test""#;
        for line in [
            format!(r#"riff_records_read_total{{{labels},stream="in"}} 3"#),
            format!(r#"riff_records_written_total{{{labels},stream="out"}} 2"#),
            format!(r#"riff_calls_total{{{labels}}} 1"#),
            format!(r#"riff_call_failures_total{{{labels},cause="function"}} 1"#),
            format!(r#"riff_call_failures_total{{{labels},cause="timeout"}} 1"#),
            format!(r#"riff_call_duration_seconds_count{{{labels}}} 1"#),
            format!(r#"riff_window_records_sum{{{labels}}} 3.0"#),
            format!(r#"riff_window_duration_seconds_sum{{{labels}}} 0.5"#),
            format!(r#"riff_dead_letters_total{{{labels}}} 1"#),
            format!(r#"riff_in_flight_bytes{{{labels}}} 500"#),
        ] {
            assert!(text.contains(&line), "{line} in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
