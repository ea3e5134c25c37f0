//! `riff-bench`: throughput, latency and memory of riff-streaming, each figure against a
//! baseline measured in the same run (absolute times on shared machines drift). Ours runs as
//! users run it, `riff local run` on a directory of YAML; the Kafka baseline is a plain rdkafka
//! copy in a process of its own. Writes a Markdown report. Run it with `bench/run.sh`, which
//! builds the binaries it starts.

mod controller;
mod copy;
mod footprint;
mod function;
mod kafka;
mod liiklus;
mod measure;
mod protocol;
mod report;
mod riff;
mod scenarios;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use footprint::LightLoad;
use report::{Context, Figure};
use scenarios::{Percentiles, Run};

/// jemalloc, for Rust and librdkafka alike, as in `riff`: the plain copy's baseline gets the
/// allocator that made riff's own Kafka path fastest (librdkafka frees on its threads what the
/// copy allocates on its own).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Benchmarks of riff-streaming.
#[derive(Parser)]
struct Args {
    /// Where to write the Markdown report.
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
    /// Records per throughput job (count-1 windows: a tenth of them).
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Seconds of overload after the 15 s warm-up.
    #[arg(long, default_value_t = 45)]
    overload: u64,
    /// Run only these groups: copy (the plain copy alone), kafka (plain copy, windows, the
    /// delivery policy, one partition and group reads in 3 alternated rounds; CPU, RSS), count1
    /// (count-1 windows, the median of 3 runs, and latency), latency (with --latency-rate),
    /// windows (event-time and sliding against processing-time windows), telemetry (metrics on
    /// against off, traces exported against none), memory (in-memory pass-through, the median
    /// of 3 runs, and time-averager),
    /// poison (isolating a poison record), footprint (idle and overload RSS, idle Kafka
    /// processors, light load), idle (idle Kafka processors alone), light (100 processors under
    /// a light load alone), controller, protocol. Default: all. Also, never by default:
    /// pass-through (riff's 1 s Kafka pass-through alone, for profiles and A/B runs).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// How the plain copy (the Kafka baseline) commits; default: both ways, the best is the
    /// baseline.
    #[arg(long, value_enum)]
    plain_copy_commit: Option<copy::Commit>,
    /// Latency at this rate instead of 10% of the count-1 maximum (group `latency` runs the
    /// latency alone).
    #[arg(long)]
    latency_rate: Option<f64>,
    /// The tansu binary (tests/run.sh installs it).
    #[arg(long, env = "TANSU", default_value_os_t = riff_testkit::tansu_path())]
    tansu: PathBuf,
    #[command(subcommand)]
    command: Option<Internal>,
}

#[derive(Subcommand)]
enum Internal {
    /// Serve the bare echo invoker on a port (the protocol baseline).
    BareEcho { port: u16 },
    /// The Kafka baseline: copy `count` records from `input` to `output` (group `plain-copy`).
    PlainCopy {
        bootstrap: String,
        input: String,
        output: String,
        partitions: i32,
        count: usize,
        #[arg(long, value_enum, default_value_t = copy::Commit::Flush)]
        commit: copy::Commit,
        #[arg(long, value_enum, default_value_t = copy::Headers::AsRead)]
        headers: copy::Headers,
    },
}

fn main() {
    let args = Args::parse();
    match &args.command {
        Some(Internal::PlainCopy {
            bootstrap,
            input,
            output,
            partitions,
            count,
            commit,
            headers,
        }) => {
            let group = "plain-copy";
            return copy::run(
                bootstrap,
                input,
                output,
                *partitions,
                group,
                *count,
                (*commit, *headers),
            );
        }
        Some(Internal::BareEcho { .. }) | None => {}
    }
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let system = actix_rt::System::with_tokio_rt(runtime);
    if let Some(Internal::BareEcho { port }) = args.command {
        return system.block_on(protocol::serve_bare_echo(port));
    }
    let mut bench = Bench {
        figures: Vec::new(),
        failures: Vec::new(),
    };
    system.block_on(measure_all(&args, &mut bench));
    let arguments: Vec<_> = std::env::args().skip(1).collect();
    let command = ["bench/run.sh".to_owned()]
        .into_iter()
        .chain(arguments)
        .collect::<Vec<_>>()
        .join(" ");
    let context = Context {
        command,
        riff: format!(
            "`{}` on a directory of YAML: a KafkaGateway (`bootstrapServers` = the tansu the \
             bench started) or an InMemoryGateway, Streams `in` and `out` (application/json, 4 \
             partitions unless said), and, once the input is preloaded, processor \
             `pass-through` (the sample function, a child process of riff) added live, here \
             with 1 s windows:",
            riff_command(),
        ),
        processor: scenarios::pass_through_yaml("{duration: 1s}"),
        baseline: copy::settings(&commit_modes(&args)),
        messages: args.messages,
        failures: bench.failures.clone(),
    };
    let report = report::render(&bench.figures, &context);
    std::fs::write(&args.out, &report).expect("the report is written");
    println!("{report}");
    if !bench.failures.is_empty() {
        std::process::exit(1);
    }
}

/// The plain copy's commit modes to measure.
fn commit_modes(args: &Args) -> Vec<copy::Commit> {
    match args.plain_copy_commit {
        Some(mode) => vec![mode],
        None => vec![copy::Commit::Flush, copy::Commit::Acked],
    }
}

fn riff_command() -> String {
    let mut command = "target/release/riff local run -f <dir>".to_owned();
    for property in riff::tansu_properties() {
        command += &format!(" --kafka-property {property}");
    }
    command
}

/// Figures and failures so far.
struct Bench {
    figures: Vec<Figure>,
    failures: Vec<String>,
}

impl Bench {
    #[allow(clippy::too_many_arguments)]
    fn figure(
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
    fn ok<T>(&mut self, what: &str, result: anyhow::Result<T>) -> Option<T> {
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
    fn run(&mut self, what: &str, result: anyhow::Result<Run>) -> Option<Run> {
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

/// The cost of metrics and traces on the Kafka pass-through (1 s windows): metrics on (the
/// default) against off, and traces of every call exported (100% sampling, to a receiver in
/// this process) against none, in alternating fresh runs (the first riff run of a group is
/// slower than the next ones, whatever it runs): CPU per record of the riff process, the
/// steadier figure, and throughput, each the mean of two runs.
fn telemetry(tansu: &std::path::Path, n: usize, bench: &mut Bench) {
    let receiver = riff_testkit::OtlpReceiver::start();
    let endpoint = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.as_str()),
        ("OTEL_TRACES_SAMPLER", "always_on"),
        // Exported during the run (riff is killed at its end, before a last flush).
        ("OTEL_BSP_SCHEDULE_DELAY", "200"),
    ];
    let off = ["--metrics-address", "off"];
    type Launch<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);
    let kinds: [Launch; 3] = [
        ("riff, metrics on", &[], &[]),
        ("riff, metrics off", &off, &[]),
        ("riff, metrics on, traces exported", &[], &endpoint),
    ];
    warm_up(tansu, n);
    let mut runs: [Vec<Run>; 3] = Default::default();
    for _ in 0..2 {
        for (kind, (what, args, env)) in kinds.iter().enumerate() {
            let result = scenarios::riff_kafka_with(tansu, n, 4, "{duration: 1s}", args, env);
            runs[kind].extend(bench.run(what, result));
        }
    }
    if !runs.iter().all(|r| r.len() == 2) {
        return;
    }
    let spans = receiver.spans().len();
    if spans == 0 {
        bench
            .failures
            .push("traced runs: no span reached the receiver".into());
        return;
    }
    let mean = |runs: &[Run], f: fn(&Run) -> f64| runs.iter().map(f).sum::<f64>() / 2.0;
    let [on, off, traced] = &runs;
    let alternating = "mean of 2 runs each, alternating";
    let pairs = [
        (
            "metrics on (the default)",
            on,
            "`--metrics-address off`",
            off,
            "≤ 1.03",
            "≥ 0.97",
            alternating.to_owned(),
        ),
        (
            "metrics on, every call traced (`OTEL_TRACES_SAMPLER=always_on`, OTLP/gRPC)",
            traced,
            "metrics on, no traces",
            on,
            "",
            "",
            format!("{alternating}; {spans} spans received"),
        ),
    ];
    for (name, value, baseline_name, baseline, cpu_target, rate_target, note) in pairs {
        let target = |target: &'static str| (!target.is_empty()).then_some(target);
        bench.figure(
            format!("Kafka pass-through, 1 s windows, {name}: riff CPU per record"),
            mean(value, |r| r.cpu_us),
            baseline_name,
            mean(baseline, |r| r.cpu_us),
            "µs",
            target(cpu_target),
            note.clone(),
        );
        bench.figure(
            format!("Kafka pass-through, 1 s windows, {name}"),
            mean(value, Run::rate),
            baseline_name,
            mean(baseline, Run::rate),
            "msg/s",
            target(rate_target),
            note,
        );
    }
}

/// Event-time and sliding windows against riff's processing-time tumbling windows, on the same
/// keyed job ([`scenarios::KEYS`] keys, 10 000 records per second of event time, 4 partitions,
/// `pass-through`): event-time tumbling 1 s windows per key (a call per key and second), and
/// sliding 10 s windows every 1 s over every record (each record in 10 calls). Input records
/// per second, from reading to the last position committed.
fn windows(tansu: &std::path::Path, n: usize, bench: &mut Bench) {
    warm_up(tansu, n);
    let baseline = "`{duration: 1s}` (processing time, riff's)";
    let result = scenarios::riff_windows(tansu, n, 4, "{duration: 1s}", 1);
    let Some(processing) = bench.run("riff, processing-time 1 s windows", result) else {
        return;
    };
    let kinds = [
        (
            "{time: event, duration: 1s, keyBy: key}",
            1,
            "event-time tumbling 1 s per key",
        ),
        (
            "{kind: sliding, size: 10s, every: 1s, time: event}",
            10,
            "event-time sliding 10 s every 1 s",
        ),
    ];
    for (window, copies, name) in kinds {
        let result = scenarios::riff_windows(tansu, n, 4, window, copies);
        if let Some(run) = bench.run(&format!("riff, {name}"), result) {
            bench.figure(
                format!(
                    "Kafka pass-through, {} keys, `window: {window}`",
                    scenarios::KEYS
                ),
                run.rate(),
                baseline,
                processing.rate(),
                "msg/s",
                None,
                format!("{}; {copies} call(s) per record", run.note()),
            );
        }
    }
}

/// The Kafka group's rounds (each measures the plain copy, then riff's runs, back to back)
/// and the in-memory pass-through's runs. Figures are taken from the median, so that a ratio
/// compares figures measured minutes apart, not a quarter of an hour, and an absolute target
/// does not hang on one minute's speed, on a machine whose speed drifts.
const ROUNDS: usize = 3;
/// riff's 1 s windows: the window of the Kafka target, the CPU, RSS and in-memory figures.
const ONE_SECOND: &str = "{duration: 1s}";

/// One round of the Kafka group.
struct Round {
    /// The plain copy at its best commit mode.
    copy: Run,
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
    fn ratio(&self, window: &str) -> Option<f64> {
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

/// The item whose `key` is the median of the items that have one (the upper one of two), and
/// every item's key in order.
fn median_by<T>(items: &[T], key: impl Fn(&T) -> Option<f64>) -> Option<(&T, Vec<f64>)> {
    let mut keyed: Vec<(f64, &T)> = items
        .iter()
        .filter_map(|item| Some((key(item)?, item)))
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (_, median) = keyed.get(keyed.len() / 2)?;
    Some((median, keyed.iter().map(|(key, _)| *key).collect()))
}

/// "the median of 3 `what` (x, y, z)", each key written by `show`.
fn median_note(what: &str, keys: &[f64], show: impl Fn(f64) -> String) -> String {
    let keys: Vec<String> = keys.iter().map(|&key| show(key)).collect();
    format!("the median of {} {what} ({})", keys.len(), keys.join(", "))
}

/// The median of `runs` by rate, and its note followed by every run's rate.
fn median_run(runs: &[Run]) -> Option<(&Run, String)> {
    let (run, rates) = median_by(runs, |run| Some(run.rate()))?;
    let rates = median_note("runs", &rates, |rate| format!("{rate:.0} msg/s"));
    Some((run, format!("{}; {rates}", run.note())))
}

/// [`median_note`] of the Kafka group's rounds.
fn rounds_note(keys: &[f64], show: impl Fn(f64) -> String) -> String {
    median_note("alternated rounds", keys, show)
}

/// The plain copy writing `headers` in each commit mode: the fastest, labelled with every
/// mode's rate.
fn plain_copies(
    tansu: &std::path::Path,
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
fn kafka_windows(n: usize) -> [String; 3] {
    let counted = format!("{{count: {}}}", (n / 20).max(1));
    [ONE_SECOND.into(), "{duration: 100ms}".into(), counted]
}

/// [`ROUNDS`] rounds of the plain copy (writing the input's headers, then riff's CloudEvent
/// headers too), riff's windows, then 1 s windows with the delivery policy, on one partition and
/// read by a group member, after a warm-up.
fn kafka_rounds(
    tansu: &std::path::Path,
    n: usize,
    modes: &[copy::Commit],
    bench: &mut Bench,
) -> Vec<Round> {
    warm_up(tansu, n);
    let mut rounds = Vec::new();
    for round in 1..=ROUNDS {
        let Some(copy) = plain_copies(tansu, n, (modes, copy::Headers::AsRead), bench) else {
            continue;
        };
        let cloud_events = plain_copies(tansu, n, (modes, copy::Headers::CloudEvents), bench);
        let mut windows = Vec::new();
        for window in kafka_windows(n) {
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
fn kafka_figures(n: usize, rounds: &[Round], median: &Round, bench: &mut Bench) {
    for window in &kafka_windows(n) {
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

/// The first riff run of a group is slower than the next ones, whatever it runs (3.4 to 3.9 µs
/// of CPU per record against 2.9 to 3.0): one unmeasured Kafka pass-through of `n / 10` records.
fn warm_up(tansu: &std::path::Path, n: usize) {
    if let Err(error) = scenarios::riff_kafka(tansu, (n / 10).max(1), 4, "{duration: 1s}") {
        eprintln!("riff warm-up: {error:#}");
    }
}

async fn measure_all(args: &Args, bench: &mut Bench) {
    let n = args.messages;
    let runs = |group: &str| args.only.is_empty() || args.only.iter().any(|g| g == group);
    let tansu = args.tansu.as_path();

    let modes = commit_modes(args);
    let rounds = match runs("kafka") {
        true => kafka_rounds(tansu, n, &modes, bench),
        false => Vec::new(),
    };
    // The other groups' Kafka baseline: the plain copy of the Kafka group's median round, or
    // one measured now.
    let median = median_by(&rounds, |round| round.ratio(ONE_SECOND));
    let measured;
    let copy_rate = match &median {
        Some((round, _)) => Some(&round.copy),
        None if runs("copy") || runs("count1") || runs("memory") => {
            measured = plain_copies(tansu, n, (&modes, copy::Headers::AsRead), bench);
            measured.as_ref()
        }
        None => None,
    };
    let copy_rate_value = copy_rate.map_or(f64::NAN, Run::rate);
    let plain = copy_rate.map_or("plain rdkafka copy".into(), |copy| {
        format!("plain rdkafka copy, {}", copy.label)
    });
    let plain = plain.as_str();

    // Not in the default set: riff's 1 s Kafka pass-through alone, for profiles and A/B runs.
    if args.only.iter().any(|g| g == "pass-through") {
        warm_up(tansu, n);
        let result = scenarios::riff_kafka(tansu, n, 4, "{duration: 1s}");
        bench.run("riff, {duration: 1s} windows", result);
    }

    if let Some((median, _)) = median {
        kafka_figures(n, &rounds, median, bench);
    }

    let mut count_1 = args.latency_rate.map(|rate| rate * 10.0);
    if runs("windows") {
        windows(tansu, n / 5, bench);
    }
    if runs("telemetry") {
        telemetry(tansu, n, bench);
    }

    if runs("count1") {
        // Three runs, the median one kept: one run of 100 000 calls took 9.7k to 14.7k msg/s
        // of the same build.
        let count = n / 10;
        let mut count_1_runs = Vec::new();
        for _ in 0..ROUNDS {
            let result = scenarios::riff_kafka(tansu, count, 4, "{count: 1}");
            count_1_runs.extend(bench.run("riff, count-1 windows", result));
        }
        if let Some((run, note)) = median_run(&count_1_runs) {
            bench.figure(
                "Kafka pass-through, `window: {count: 1}`, 4 partitions".into(),
                run.rate(),
                plain,
                copy_rate_value,
                "msg/s",
                Some("≥ 20 000 msg/s"),
                note,
            );
            count_1 = count_1.or(Some(run.rate()));
            // The ceiling: one tonic call per record and nothing else, riff's 8 calls in flight.
            let ceiling = protocol::call_rate(8, 100_000).await;
            bench.figure(
                "count-1 windows against one-frame tonic calls alone (bare client and echo \
                 server, 8 calls in flight, each on its own connection: no Kafka, no riff)"
                    .into(),
                run.rate(),
                "bare tonic calls",
                ceiling,
                "msg/s",
                None,
                "the most one call per record could give on this machine".into(),
            );
        }
    }
    if let (true, Some(count_1)) = (runs("count1") || runs("latency"), count_1) {
        let rate = count_1 / 10.0;
        let count = ((rate * 10.0) as usize).max(100);
        // A tail read off one run is mostly the machine's: rounds, the median by the p99 ratio.
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            let result = scenarios::latency(tansu, rate, count, &modes);
            rounds.extend(bench.ok("latency", result));
        }
        let best_copy = |copies: &[(copy::Commit, Percentiles)]| {
            let best = copies.iter().min_by(|a, b| a.1 .1.total_cmp(&b.1 .1));
            best.map(|&(_, percentiles)| percentiles)
        };
        let p99_ratio = |(ours, copies): &(Percentiles, Vec<(copy::Commit, Percentiles)>)| {
            Some(ours.1 / best_copy(copies)?.1)
        };
        if let Some((((p50, p99), copies), ratios)) = median_by(&rounds, p99_ratio) {
            let measured: Vec<String> = copies
                .iter()
                .map(|(mode, (p50, p99))| {
                    format!("`{}` p50 {p50:.1} ms, p99 {p99:.1} ms", mode.name())
                })
                .collect();
            let note = format!(
                "the plain copy's best p99 of its commit modes ({}); {}",
                measured.join("; "),
                median_note("alternated rounds by this ratio", &ratios, |r| format!(
                    "{r:.2}"
                ))
            );
            let (copy50, copy99) = best_copy(copies).expect("a plain copy measured");
            let how = match args.latency_rate {
                Some(_) => "given",
                None => "10% of the count-1 maximum",
            };
            let at = format!("at {rate:.0} msg/s ({how}), {count} stamped records, 4 partitions");
            bench.figure(
                format!("Kafka latency p50, `window: {{count: 1}}`, {at}"),
                *p50,
                "plain copy p50",
                copy50,
                "ms",
                None,
                String::new(),
            );
            bench.figure(
                format!("Kafka latency p99, `window: {{count: 1}}`, {at}"),
                *p99,
                "plain copy p99",
                copy99,
                "ms",
                Some("≤ 1.2 × the plain copy's"),
                note,
            );
        }
    }

    if runs("poison") {
        let count = 10_000;
        let clean = bench.ok(
            "one clean window",
            scenarios::poison_isolation(tansu, count, None),
        );
        let poison = scenarios::poison_isolation(tansu, count, Some(count / 2 + 1));
        if let (Some(clean), Some(isolated)) =
            (clean, bench.ok("isolating a poison record", poison))
        {
            bench.figure(
                format!("time to isolate one poison record in a window of {count} (Kafka, `maxAttempts: 3`, backoff 100 ms to 5 s, jittered)"),
                isolated.as_secs_f64(),
                "the same window without the poison record",
                clean.as_secs_f64(),
                "s",
                None,
                format!("the poison record alone on the dead-letter stream, the other {} squares written", count - 1),
            );
        }
    }

    if runs("memory") {
        // Three runs, the median one kept: an absolute target on a machine whose speed drifts.
        let mut memories = Vec::new();
        for _ in 0..ROUNDS {
            let result = scenarios::riff_memory(n, "pass-through", &[], ONE_SECOND, false).await;
            memories.extend(bench.run("riff in memory, 1 s windows", result));
        }
        let median = median_run(&memories);
        let memory = median.as_ref().map(|(run, _)| *run);
        if let Some((run, note)) = median {
            bench.figure(
                "in-memory pass-through, 100 B, 4 partitions, `window: {duration: 1s}`".into(),
                run.rate(),
                plain,
                copy_rate_value,
                "msg/s",
                Some("≥ 600 000 msg/s"),
                note,
            );
        }
        let env = [("AVERAGE_OVER", "1s")];
        let result = scenarios::riff_memory(n, "time-averager", &env, "{duration: 1s}", true).await;
        if let (Some(averaged), Some(memory)) = (bench.run("time-averager", result), memory) {
            bench.figure(
                "time-averager (`AVERAGE_OVER=1s`), in memory, `window: {duration: 1s}`".into(),
                averaged.rate(),
                "pass-through, same job and windows",
                memory.rate(),
                "msg/s",
                None,
                averaged.note(),
            );
        }
    }

    if runs("footprint") {
        let one = bench.ok("idle RSS, 1 processor", footprint::idle_rss(1));
        let hundred = bench.ok("idle RSS, 100 processors", footprint::idle_rss(100));
        if let (Some(one), Some(hundred)) = (one, hundred) {
            bench.figure(
                "peak RSS of the riff process, 100 idle processors".into(),
                hundred.0,
                "1 processor",
                one.0,
                "MiB",
                Some("< 200 MiB"),
                String::new(),
            );
            bench.figure(
                "peak RSS of riff + its 100 function processes, 100 idle processors".into(),
                hundred.1,
                "1 processor + 1 function",
                one.1,
                "MiB",
                None,
                "sum of each process's peak (VmHWM)".into(),
            );
        }
    }
    if runs("footprint") || runs("idle") {
        let idle = footprint::idle_kafka(tansu, 100, &[]);
        let tuned = riff::tansu_properties();
        let tansu_idle = footprint::idle_kafka(tansu, 100, &tuned);
        if let (Some(idle), Some(tansu_idle)) = (
            bench.ok("100 idle Kafka processors", idle),
            bench.ok("100 idle Kafka processors, tansu settings", tansu_idle),
        ) {
            let settings = format!("the test broker's settings ({})", tuned.join(", "));
            let threads = format!("{} threads in riff", idle.threads);
            bench.figure(
                "CPU of riff, 100 idle Kafka-backed processors, product defaults".into(),
                idle.riff_cpu,
                &settings,
                tansu_idle.riff_cpu,
                "% of a core",
                Some("≤ 2%"),
                threads,
            );
            bench.figure(
                "CPU of the broker meanwhile (tansu)".into(),
                idle.broker_cpu,
                "the broker with no clients",
                idle.broker_alone,
                "% of a core",
                Some("≤ 5%"),
                format!(
                    "with the test broker's settings: {:.1}%",
                    tansu_idle.broker_cpu
                ),
            );
            bench.figure(
                "RSS of riff, 100 idle Kafka-backed processors".into(),
                idle.rss,
                "the test broker's settings",
                tansu_idle.rss,
                "MiB",
                Some("≤ 64 MiB"),
                String::new(),
            );
            bench.figure(
                "start-up of 100 Kafka-backed processors to running (every group assigned)".into(),
                idle.startup.as_secs_f64(),
                "the test broker's settings (2 s sessions)",
                tansu_idle.startup.as_secs_f64(),
                "s",
                Some("< 10 s"),
                String::new(),
            );
        }
    }
    if runs("footprint") || runs("light") {
        // 10 records a second on the input, copied by each of the 100 processors: 1 000
        // count-1 calls a second in all. (100 a second each would be 10 000 calls a second, the
        // whole of this machine's count-1 capacity.) The consumers fetch every 20 ms, not every
        // 5 as in the other test-broker runs: tansu answers a fetch only after
        // fetch.wait.max.ms, and 100 consumers asking every 5 ms take a core of it. 30 s of
        // load: the one processor's p99 is read off 300 records, not 100 (the 99th percentile
        // of 100 samples is their second largest).
        let (rate, seconds) = (10.0, 30);
        let props = [
            "fetch.wait.max.ms=20",
            "session.timeout.ms=2000",
            "heartbeat.interval.ms=500",
        ];
        // Rounds of one processor then 100, the median by the p99 ratio: one run's tail is
        // mostly the machine's.
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            let one = footprint::light_load_latency(tansu, 1, &props, rate, seconds);
            let hundred = footprint::light_load_latency(tansu, 100, &props, rate, seconds);
            if let (Some(one), Some(hundred)) = (
                bench.ok("light load, 1 processor", one),
                bench.ok("light load, 100 processors", hundred),
            ) {
                rounds.push((one, hundred));
            }
        }
        let p99_ratio = |(one, hundred): &(LightLoad, LightLoad)| Some(hundred.all.1 / one.all.1);
        if let Some((round, ratios)) = median_by(&rounds, p99_ratio) {
            let (one, hundred) = round;
            let ((one50, one99), (_, warm_one99)) = (one.all, one.warm);
            let ((p50, p99), (_, warm99)) = (hundred.all, hundred.warm);
            bench.figure(
                format!("Kafka latency p99, 100 processors in one riff local run, each copying the same {rate:.0} msg/s (count-1 windows; {})", props.join(", ")),
                p99,
                "1 processor, the same load",
                one99,
                "ms",
                Some("≤ 1.5 × 1 processor's"),
                format!(
                    "p50 {p50:.1} ms against {one50:.1} ms; {seconds} s of load; after its first \
                     second: p99 {warm99:.1} ms against {warm_one99:.1} ms; CPU per copy of the \
                     100: riff {:.0} µs, the broker {:.0} µs; {}",
                    hundred.riff_cpu,
                    hundred.broker_cpu,
                    rounds_note(&ratios, |r| format!("{r:.2}"))
                ),
            );
        }
    }
    if runs("footprint") {
        let (warm_up, duration) = (Duration::from_secs(15), Duration::from_secs(args.overload));
        let result = footprint::overload_rss(tansu, warm_up, duration);
        if let Some((late, early, progress)) = bench.ok("overload", result) {
            let seconds = args.overload;
            bench.figure(
                format!(
                    "RSS of riff + function after {seconds} s of overload (Kafka, count-1 windows)"
                ),
                late,
                "after 15 s",
                early,
                "MiB",
                Some("flat (ratio ≈ 1)"),
                format!(
                    "the processor committed {progress} records during those {seconds} s ({:.0} msg/s)",
                    progress as f64 / seconds.max(1) as f64
                ),
            );
            if progress <= 0 {
                bench
                    .failures
                    .push("overload: the processor made no progress".into());
            }
        }
    }

    if runs("controller") {
        for resources in [100, 1000] {
            let converged = controller::convergence(resources).await;
            bench.figure(
                format!(
                    "controller: {resources} streams + {resources} processors from created to Ready"
                ),
                converged.seconds,
                &format!(
                    "the same {} API writes, one kube-rs client in sequence",
                    converged.writes
                ),
                converged.baseline,
                "s",
                (resources == 1000).then_some("converges"),
                format!(
                    "the controller process: CPU {:.2} s, peak RSS {:.0} MiB",
                    converged.cpu, converged.peak_rss
                ),
            );
        }
    }

    if runs("protocol") {
        let (ours, bare) = protocol::invoke_rate(n).await;
        bench.figure(
            "streaming.Riff/Invoke, SDK pass-through on 1 core".into(),
            ours,
            "bare tonic echo on 1 core",
            bare,
            "frames/s",
            Some("≥ 0.7 of the bare echo"),
            String::new(),
        );
    }
}
