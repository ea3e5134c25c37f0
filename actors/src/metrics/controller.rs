//! The controller's metrics: reconcile passes by kind and outcome, their duration, and the
//! resources with a live reconciler.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use super::{register, seconds, HistogramFamily};

/// How a reconcile pass ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The pass completed.
    Success,
    /// The pass failed and will be retried.
    Error,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PassLabels {
    kind: String,
    outcome: &'static str,
}

struct Families {
    passes: Family<PassLabels, Counter>,
    pass_seconds: HistogramFamily<KindLabels>,
    resources: Family<KindLabels, Gauge>,
}

fn families() -> &'static Families {
    static FAMILIES: OnceLock<Families> = OnceLock::new();
    FAMILIES.get_or_init(|| {
        let f = Families {
            passes: Family::default(),
            pass_seconds: Family::new_with_constructor(seconds),
            resources: Family::default(),
        };
        let passes = "Reconcile passes, by kind and outcome";
        register("reconcile_passes", passes, f.passes.clone());
        let took = "Seconds a reconcile pass took, by kind";
        register("reconcile_duration_seconds", took, f.pass_seconds.clone());
        let resources = "Resources with a live reconciler, by kind";
        register("resources", resources, f.resources.clone());
        f
    })
}

/// One pass over a resource of `kind` ended with `outcome` after `took`.
pub fn reconciled(kind: &str, outcome: Outcome, took: Duration) {
    let outcome = match outcome {
        Outcome::Success => "success",
        Outcome::Error => "error",
    };
    let f = families();
    let labels = PassLabels {
        kind: kind.to_owned(),
        outcome,
    };
    f.passes.get_or_create(&labels).inc();
    let kind = KindLabels {
        kind: kind.to_owned(),
    };
    f.pass_seconds
        .get_or_create(&kind)
        .observe(took.as_secs_f64());
}

/// A reconciler of `kind` started (`1`) or stopped (`-1`).
pub fn resources(kind: &str, change: i64) {
    let labels = KindLabels {
        kind: kind.to_owned(),
    };
    families().resources.get_or_create(&labels).inc_by(change);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::render;

    #[tokio::test]
    async fn passes_durations_and_resources_render_as_openmetrics() {
        reconciled("MetricsTest", Outcome::Success, Duration::from_millis(250));
        reconciled("MetricsTest", Outcome::Success, Duration::from_millis(250));
        reconciled("MetricsTest", Outcome::Error, Duration::from_millis(500));
        resources("MetricsTest", 1);
        resources("MetricsTest", 1);
        resources("MetricsTest", -1);
        let text = render().await;
        for line in [
            r#"riff_reconcile_passes_total{kind="MetricsTest",outcome="success"} 2"#,
            r#"riff_reconcile_passes_total{kind="MetricsTest",outcome="error"} 1"#,
            r#"riff_reconcile_duration_seconds_count{kind="MetricsTest"} 3"#,
            r#"riff_reconcile_duration_seconds_sum{kind="MetricsTest"} 1.0"#,
            r#"riff_resources{kind="MetricsTest"} 1"#,
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
    }
}
