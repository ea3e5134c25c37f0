//! The Markdown report: the machine, the commit, and each figure against its baseline.

use std::fmt::Write as _;
use std::process::Command;

/// One measured figure next to the baseline it is compared with.
pub struct Figure {
    /// What was measured.
    pub name: String,
    /// The measured value.
    pub value: f64,
    /// The baseline, measured in the same run.
    pub baseline_name: String,
    /// The baseline's value.
    pub baseline: f64,
    /// Unit of both values.
    pub unit: &'static str,
    /// The target, as a sentence, when the issue sets one.
    pub target: Option<String>,
    /// What was checked, and other figures of the same measurement.
    pub note: String,
}

/// What the report says besides the figures.
pub struct Context {
    /// The bench's command line.
    pub command: String,
    /// How ours ran (the `riff` command line).
    pub riff: String,
    /// The processor's YAML.
    pub processor: String,
    /// The Kafka baseline's settings.
    pub baseline: String,
    /// Records per throughput job.
    pub messages: usize,
    /// Measurements that failed.
    pub failures: Vec<String>,
}

impl Figure {
    /// `value / baseline`.
    pub fn ratio(&self) -> f64 {
        self.value / self.baseline
    }
}

/// Renders the report.
pub fn render(figures: &[Figure], context: &Context) -> String {
    let mut out = String::from("# riff-streaming benchmarks\n\n");
    let _ = writeln!(out, "- machine: {}", machine());
    let _ = writeln!(out, "- commit: {}", commit());
    let _ = writeln!(out, "- command: `{}`", context.command);
    let _ = writeln!(
        out,
        "- job: {} records of 100 B JSON preloaded on the input topic, copied to the output \
         topic, timed from the copier's first read to its group's commit of the last input \
         offset (commits follow acknowledged outputs), then the output read back and counted \
         exactly (duplicates, missing, order-independent checksum of the payloads)",
        context.messages
    );
    let _ = writeln!(out, "- ours: {}\n", context.riff);
    let _ = writeln!(
        out,
        "  ```yaml\n  {}\n  ```\n",
        context.processor.trim_end().replace('\n', "\n  ")
    );
    let _ = writeln!(out, "- Kafka baseline, the plain rdkafka copy (`riff-bench plain-copy`, a process of its own): {}\n", context.baseline);
    out.push_str(
        "| figure | value | baseline (same run) | baseline value | ratio | target | notes |\n",
    );
    out.push_str("|---|---:|---|---:|---:|---|---|\n");
    for figure in figures {
        let _ = writeln!(
            out,
            "| {} | {} {} | {} | {} {} | {:.2} | {} | {} |",
            figure.name,
            number(figure.value),
            figure.unit,
            figure.baseline_name,
            number(figure.baseline),
            figure.unit,
            figure.ratio(),
            figure.target.as_deref().unwrap_or(""),
            figure.note
        );
    }
    if !context.failures.is_empty() {
        out.push_str("\n## Failures\n\n");
        for failure in &context.failures {
            let _ = writeln!(out, "- {}", failure.replace('\n', " "));
        }
    }
    out
}

fn number(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kb: u64 = info
                .lines()
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(format!("{} GiB", kb / 1024 / 1024))
        })
        .unwrap_or_default();
    format!("{cpus} cores ({model}), {memory}")
}

fn commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
