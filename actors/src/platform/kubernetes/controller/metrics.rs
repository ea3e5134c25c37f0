//! The controller's Prometheus metrics, served at `GET /metrics` beside the probes: reconcile
//! passes by kind and outcome, the time they took, and the resources with a live reconciler.

use std::fmt::Write as _;
use std::time::Duration;

use dashmap::DashMap;

/// How a pass ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The pass completed.
    Success,
    /// The pass failed and will be retried.
    Error,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Error => "error",
        }
    }
}

/// Counters shared by every resource actor.
#[derive(Debug, Default)]
pub struct Metrics {
    passes: DashMap<(String, Outcome), u64>,
    seconds: DashMap<String, f64>,
    resources: DashMap<String, i64>,
}

impl Metrics {
    /// Counts one pass of a resource of `kind`.
    pub fn pass(&self, kind: &str, outcome: Outcome, took: Duration) {
        *self.passes.entry((kind.to_owned(), outcome)).or_default() += 1;
        *self.seconds.entry(kind.to_owned()).or_default() += took.as_secs_f64();
    }

    /// A reconciler of `kind` started (`1`) or stopped (`-1`).
    pub fn resources(&self, kind: &str, change: i64) {
        *self.resources.entry(kind.to_owned()).or_default() += change;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut passes: Vec<_> = self
            .passes
            .iter()
            .map(|e| (e.key().clone(), *e.value()))
            .collect();
        passes.sort_by(|a, b| (&a.0 .0, a.0 .1.as_str()).cmp(&(&b.0 .0, b.0 .1.as_str())));
        out.push_str("# HELP riff_reconcile_passes_total Reconcile passes, by kind and outcome.\n");
        out.push_str("# TYPE riff_reconcile_passes_total counter\n");
        for ((kind, outcome), count) in passes {
            let outcome = outcome.as_str();
            let _ = writeln!(
                out,
                "riff_reconcile_passes_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP riff_reconcile_seconds_total Time spent in reconcile passes, by kind.\n",
        );
        out.push_str("# TYPE riff_reconcile_seconds_total counter\n");
        for (kind, seconds) in sorted(&self.seconds) {
            let _ = writeln!(
                out,
                "riff_reconcile_seconds_total{{kind=\"{kind}\"}} {seconds}"
            );
        }
        out.push_str("# HELP riff_resources Resources with a live reconciler, by kind.\n");
        out.push_str("# TYPE riff_resources gauge\n");
        for (kind, count) in sorted(&self.resources) {
            let _ = writeln!(out, "riff_resources{{kind=\"{kind}\"}} {count}");
        }
        out
    }
}

fn sorted<V: Copy>(map: &DashMap<String, V>) -> Vec<(String, V)> {
    let mut entries: Vec<_> = map.iter().map(|e| (e.key().clone(), *e.value())).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges_in_the_text_format() {
        let metrics = Metrics::default();
        metrics.pass("Stream", Outcome::Success, Duration::from_millis(250));
        metrics.pass("Stream", Outcome::Success, Duration::from_millis(250));
        metrics.pass("Stream", Outcome::Error, Duration::from_millis(500));
        metrics.resources("Stream", 1);
        metrics.resources("Stream", 1);
        metrics.resources("Stream", -1);
        let text = metrics.render();
        assert!(
            text.contains("riff_reconcile_passes_total{kind=\"Stream\",outcome=\"success\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("riff_reconcile_passes_total{kind=\"Stream\",outcome=\"error\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("riff_reconcile_seconds_total{kind=\"Stream\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("riff_resources{kind=\"Stream\"} 1\n"),
            "{text}"
        );
    }
}
