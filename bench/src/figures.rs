//! What the report is made of: the figures measured so far and the failures met, and the
//! medians that pick one figure out of repeated runs.

use crate::report::Figure;
use crate::scenarios::Run;

/// How many times a figure's job runs, the median kept (the Kafka group's rounds, each
/// measuring the plain copy then riff's runs back to back; count-1 windows; the in-memory
/// pass-through; latency): a ratio then compares figures measured minutes apart, not a quarter
/// of an hour, and an absolute target does not hang on one minute's speed, on a machine whose
/// speed drifts.
pub const ROUNDS: usize = 3;

/// Figures and failures so far.
pub struct Bench {
    pub figures: Vec<Figure>,
    pub failures: Vec<String>,
}

impl Bench {
    #[allow(clippy::too_many_arguments)]
    pub fn figure(
        &mut self,
        name: String,
        value: f64,
        baseline_name: &str,
        baseline: f64,
        unit: &'static str,
        target: Option<&str>,
        note: String,
    ) {
        let figure = Figure {
            name,
            value,
            baseline_name: baseline_name.into(),
            baseline,
            unit,
            target: target.map(Into::into),
            note,
        };
        eprintln!(
            "{}: {:.1} {} (baseline {:.1}, ratio {:.2}) {}",
            figure.name,
            figure.value,
            unit,
            figure.baseline,
            figure.ratio(),
            figure.note
        );
        self.figures.push(figure);
    }

    /// The result of a measurement, or its failure recorded.
    pub fn ok<T>(&mut self, what: &str, result: anyhow::Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                let failure = format!("{what}: {error:#}");
                eprintln!("FAILED {failure}");
                self.failures.push(failure);
                None
            }
        }
    }

    /// A copy, whose incomplete output is a failure.
    pub fn run(&mut self, what: &str, result: anyhow::Result<Run>) -> Option<Run> {
        let run = self.ok(what, result)?;
        eprintln!("{what}: {:.0} msg/s; {}", run.rate(), run.note());
        if !run.complete() {
            self.failures.push(format!(
                "{what}: the output is not the input: {}",
                run.note()
            ));
        }
        Some(run)
    }
}

/// The item whose `key` is the median of the items that have one (the upper one of two), and
/// every item's key in order.
pub fn median_by<T>(items: &[T], key: impl Fn(&T) -> Option<f64>) -> Option<(&T, Vec<f64>)> {
    let mut keyed: Vec<(f64, &T)> = items
        .iter()
        .filter_map(|item| Some((key(item)?, item)))
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (_, median) = keyed.get(keyed.len() / 2)?;
    Some((median, keyed.iter().map(|(key, _)| *key).collect()))
}

/// "the median of 3 `what` (x, y, z)", each key written by `show`.
pub fn median_note(what: &str, keys: &[f64], show: impl Fn(f64) -> String) -> String {
    let keys: Vec<String> = keys.iter().map(|&key| show(key)).collect();
    format!("the median of {} {what} ({})", keys.len(), keys.join(", "))
}

/// The median of `runs` by rate, and its note followed by every run's rate.
pub fn median_run(runs: &[Run]) -> Option<(&Run, String)> {
    let (run, rates) = median_by(runs, |run| Some(run.rate()))?;
    let rates = median_note("runs", &rates, |rate| format!("{rate:.0} msg/s"));
    Some((run, format!("{}; {rates}", run.note())))
}

/// [`median_note`] of the Kafka group's rounds.
pub fn rounds_note(keys: &[f64], show: impl Fn(f64) -> String) -> String {
    median_note("alternated rounds", keys, show)
}
