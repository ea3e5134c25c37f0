//! The Kafka group: [`ROUNDS`] alternated rounds of the plain copy and riff's runs (its windows,
//! the delivery policy, one partition, a group member's reads), and the figures of their median
//! rounds.

use std::path::Path;

use super::warm_up;
use crate::copy;
use crate::figures::{median_by, rounds_note, Bench, ROUNDS};
use crate::scenarios::{self, Run};

/// riff's 1 s windows: the window of the Kafka target, the CPU, RSS and in-memory figures.
pub const ONE_SECOND: &str = "{duration: 1s}";

/// One round of the Kafka group.
pub struct Round {
    /// The plain copy at its best commit mode.
    pub copy: Run,
    /// The plain copy at its best commit mode, writing riff's CloudEvent headers.
    cloud_events: Option<Run>,
    /// Each window (`{duration: 1s}`, `{duration: 100ms}`, a count) and its run.
    windows: Vec<(String, Run)>,
    /// 1 s windows with [`DELIVERY_POLICY`].
    policy: Option<Run>,
    /// 1 s windows on one partition.
    single: Option<Run>,
    /// 1 s windows read by a group member (`--kafka-reads groups`).
    groups: Option<Run>,
}

impl Round {
    fn window(&self, window: &str) -> Option<&Run> {
        let mut windows = self.windows.iter();
        windows.find(|(w, _)| w == window).map(|(_, run)| run)
    }

    /// `window`'s rate against the plain copy's.
    pub fn ratio(&self, window: &str) -> Option<f64> {
        Some(self.window(window)?.rate() / self.copy.rate())
    }

    /// The round's fastest window.
    fn best(&self) -> Option<&(String, Run)> {
        let windows = self.windows.iter();
        windows.max_by(|(_, a), (_, b)| a.rate().total_cmp(&b.rate()))
    }

    /// 1 s windows against the round's fastest window.
    fn one_second_to_best(&self) -> Option<f64> {
        Some(self.window(ONE_SECOND)?.rate() / self.best()?.1.rate())
    }

    /// 1 s windows on 4 partitions against on 1.
    fn four_partitions_to_one(&self) -> Option<f64> {
        Some(self.window(ONE_SECOND)?.rate() / self.single.as_ref()?.rate())
    }
}

/// The delivery policy measured against no policy (retries, a call timeout).
const DELIVERY_POLICY: &str = "{maxAttempts: 3, timeout: 30s, backoff: {initial: 100ms, max: 5s}}";

/// The plain copy writing `headers` in each commit mode: the fastest, labelled with every
/// mode's rate.
pub fn plain_copies(
    tansu: &Path,
    n: usize,
    (modes, headers): (&[copy::Commit], copy::Headers),
    bench: &mut Bench,
) -> Option<Run> {
    let mut rates = Vec::new();
    let mut best: Option<Run> = None;
    for &mode in modes {
        let result = scenarios::plain_copy(tansu, n, 4, (mode, headers));
        let what = match headers {
            copy::Headers::AsRead => format!("plain copy, `{}`", mode.name()),
            copy::Headers::CloudEvents => {
                format!("plain copy, CloudEvent headers, `{}`", mode.name())
            }
        };
        if let Some(mut run) = bench.run(&what, result) {
            rates.push(format!("`{}` {:.0} msg/s", mode.name(), run.rate()));
            if best.as_ref().is_none_or(|best| run.rate() > best.rate()) {
                run.label = format!("commits `{}`", mode.name());
                best = Some(run);
            }
        }
    }
    let mut best = best?;
    best.label += &format!(" (measured: {})", rates.join(", "));
    Some(best)
}

/// The Kafka group's windows: 1 s, 100 ms, and {count: 50000} for the default 1 000 000
/// records (a count that divides the job).
fn window_kinds(n: usize) -> [String; 3] {
    let counted = format!("{{count: {}}}", (n / 20).max(1));
    [ONE_SECOND.into(), "{duration: 100ms}".into(), counted]
}

/// [`ROUNDS`] rounds of the plain copy (writing the input's headers, then riff's CloudEvent
/// headers too), riff's windows, then 1 s windows with the delivery policy, on one partition and
/// read by a group member, after a warm-up.
pub fn rounds(tansu: &Path, n: usize, modes: &[copy::Commit], bench: &mut Bench) -> Vec<Round> {
    warm_up(tansu, n);
    let mut rounds = Vec::new();
    for round in 1..=ROUNDS {
        let Some(copy) = plain_copies(tansu, n, (modes, copy::Headers::AsRead), bench) else {
            continue;
        };
        let cloud_events = plain_copies(tansu, n, (modes, copy::Headers::CloudEvents), bench);
        let mut windows = Vec::new();
        for window in window_kinds(n) {
            let result = scenarios::riff_kafka(tansu, n, 4, &window);
            let what = format!("round {round}, riff, {window} windows");
            windows.extend(bench.run(&what, result).map(|run| (window, run)));
        }
        // The YAML's next field follows the window's.
        let with_policy = format!("{ONE_SECOND}\n  delivery: {DELIVERY_POLICY}");
        let result = scenarios::riff_kafka(tansu, n, 4, &with_policy);
        let policy = bench.run(&format!("round {round}, riff, delivery policy"), result);
        let result = scenarios::riff_kafka(tansu, n, 1, ONE_SECOND);
        let single = bench.run(&format!("round {round}, riff, 1 partition"), result);
        let groups = ["--kafka-reads", "groups"];
        let result = scenarios::riff_kafka_with(tansu, n, 4, ONE_SECOND, &groups, &[]);
        let groups = bench.run(&format!("round {round}, riff, group member"), result);
        rounds.push(Round {
            copy,
            cloud_events,
            windows,
            policy,
            single,
            groups,
        });
    }
    rounds
}

/// The Kafka group's figures from its rounds; the RSS figure from `median`, the round whose 1 s
/// windows have the median ratio to the plain copy.
pub fn figures(n: usize, rounds: &[Round], median: &Round, bench: &mut Bench) {
    for window in &window_kinds(n) {
        let Some((round, ratios)) = median_by(rounds, |round| round.ratio(window)) else {
            continue;
        };
        let run = round
            .window(window)
            .expect("the median round has the window");
        let target = (window == ONE_SECOND).then_some("≥ 0.9 of the plain copy");
        bench.figure(
            format!("Kafka pass-through, 100 B, 4 partitions, `window: {window}`"),
            run.rate(),
            &format!("plain rdkafka copy, {}", round.copy.label),
            round.copy.rate(),
            "msg/s",
            target,
            format!(
                "{}; {}",
                run.note(),
                rounds_note(&ratios, |r| format!("{r:.2}"))
            ),
        );
    }
    let to_cloud_events = |round: &Round| {
        Some(round.window(ONE_SECOND)?.rate() / round.cloud_events.as_ref()?.rate())
    };
    if let Some((round, ratios)) = median_by(rounds, to_cloud_events) {
        let copy = round
            .cloud_events
            .as_ref()
            .expect("the median round has the copy");
        bench.figure(
            "Kafka pass-through, 1 s windows, against a plain copy writing the same CloudEvent \
             headers as riff (`ce_specversion`, `ce_id`, `ce_type`, `ce_source` beside \
             `content-type`)"
                .into(),
            round.window(ONE_SECOND).expect("1 s windows").rate(),
            &format!("plain rdkafka copy, CloudEvent headers, {}", copy.label),
            copy.rate(),
            "msg/s",
            None,
            format!(
                "like for like on the records written (riff's format costs the plain copy too); \
                 the copy: {}; {}",
                copy.note(),
                rounds_note(&ratios, |r| format!("{r:.2}"))
            ),
        );
    }
    if let Some((round, ratios)) = median_by(rounds, Round::one_second_to_best) {
        let (best, fastest) = round.best().expect("the median round has windows");
        bench.figure(
            "Kafka pass-through: `{duration: 1s}` windows against the best window".into(),
            round.window(ONE_SECOND).expect("1 s windows").rate(),
            &format!("the round's best: `{best}`"),
            fastest.rate(),
            "msg/s",
            Some("≥ 0.95"),
            rounds_note(&ratios, |r| format!("{r:.2}")),
        );
    }
    let cpu = |round: &Round| Some(round.window(ONE_SECOND)?.cpu_us);
    if let Some((round, cpus)) = median_by(rounds, cpu) {
        bench.figure(
            "CPU of the riff process per record (Kafka pass-through, 1 s windows)".into(),
            round.window(ONE_SECOND).expect("1 s windows").cpu_us,
            "the plain copy's process",
            round.copy.cpu_us,
            "µs",
            Some("≤ 3 µs"),
            format!(
                "{}; plain copy: {}",
                rounds_note(&cpus, |cpu| format!("{cpu:.2} µs")),
                round.copy.note()
            ),
        );
    }
    let one = median.window(ONE_SECOND).expect("1 s windows");
    bench.figure(
        "peak RSS of riff + its function process (Kafka pass-through, 1 s windows)".into(),
        one.peak_rss,
        "the plain copy's process",
        median.copy.peak_rss,
        "MiB",
        None,
        "sum of each process's peak (VmHWM), in the median round".into(),
    );
    against_one_second(
        rounds,
        |round| round.policy.as_ref(),
        format!("Kafka pass-through, 1 s windows, `delivery: {DELIVERY_POLICY}`"),
        "1 s windows, no delivery policy (the same round)",
        Some("≥ 0.95"),
        bench,
    );
    against_one_second(
        rounds,
        |round| round.groups.as_ref(),
        "Kafka pass-through, 1 s windows, read by a group member (`--kafka-reads groups`, as a \
         cluster's gateway reads)"
            .into(),
        "read by the shared reader, `riff local run`'s default (the same round)",
        None,
        bench,
    );
    if let Some((round, ratios)) = median_by(rounds, Round::four_partitions_to_one) {
        let single = round
            .single
            .as_ref()
            .expect("the median round has one partition's run");
        bench.figure(
            "Kafka pass-through, 4 partitions against 1 (1 s windows)".into(),
            round.window(ONE_SECOND).expect("1 s windows").rate(),
            "1 partition (the same round)",
            single.rate(),
            "msg/s",
            Some("≥ 1"),
            format!(
                "1 partition: {}; {}",
                single.note(),
                rounds_note(&ratios, |r| format!("{r:.2}"))
            ),
        );
    }
}

/// The figure `what` of a run each round made beside its 1 s windows (`run` picks it), against
/// that round's 1 s windows, from the round whose ratio of the two is the median.
fn against_one_second(
    rounds: &[Round],
    run: impl Fn(&Round) -> Option<&Run>,
    what: String,
    baseline: &str,
    target: Option<&str>,
    bench: &mut Bench,
) {
    let ratio = |round: &Round| Some(run(round)?.rate() / round.window(ONE_SECOND)?.rate());
    let Some((round, ratios)) = median_by(rounds, ratio) else {
        return;
    };
    let measured = run(round).expect("the median round has the run");
    bench.figure(
        what,
        measured.rate(),
        baseline,
        round.window(ONE_SECOND).expect("1 s windows").rate(),
        "msg/s",
        target,
        format!(
            "{}; {}",
            measured.note(),
            rounds_note(&ratios, |r| format!("{r:.2}"))
        ),
    );
}
