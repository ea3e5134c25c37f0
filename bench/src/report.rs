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
}

impl Figure {
    /// `value / baseline`.
    pub fn ratio(&self) -> f64 {
        self.value / self.baseline
    }
}

/// Renders the report.
pub fn render(figures: &[Figure], command: &str) -> String {
    let mut out = String::from("# riff-streaming benchmarks\n\n");
    let _ = writeln!(out, "- machine: {}", machine());
    let _ = writeln!(out, "- commit: {}", commit());
    let _ = writeln!(out, "- command: `{command}`\n");
    out.push_str("| figure | value | baseline (same run) | baseline value | ratio | target |\n");
    out.push_str("|---|---:|---|---:|---:|---|\n");
    for figure in figures {
        let _ = writeln!(
            out,
            "| {} | {} {} | {} | {} {} | {:.2} | {} |",
            figure.name,
            number(figure.value),
            figure.unit,
            figure.baseline_name,
            number(figure.baseline),
            figure.unit,
            figure.ratio(),
            figure.target.as_deref().unwrap_or("")
        );
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
