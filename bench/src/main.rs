//! `riff-bench`: throughput, latency and memory of riff-streaming, each figure against a
//! baseline measured in the same run (absolute times on shared machines drift). Ours runs as
//! users run it, `riff local run` on a directory of YAML; the Kafka baseline is a plain rdkafka
//! copy in a process of its own. Writes a Markdown report. Run it with `bench/run.sh`, which
//! builds the binaries it starts.

mod controller;
mod copy;
mod figures;
mod footprint;
mod function;
mod groups;
mod kafka;
mod liiklus;
mod measure;
mod protocol;
mod report;
mod riff;
mod scenarios;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use figures::{median_by, Bench};
use report::Context;
use scenarios::Run;

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

/// Runs the groups `args` asks for, in order, into `bench`.
async fn measure_all(args: &Args, bench: &mut Bench) {
    let n = args.messages;
    let runs = |group: &str| args.only.is_empty() || args.only.iter().any(|g| g == group);
    let tansu = args.tansu.as_path();

    let modes = commit_modes(args);
    let rounds = match runs("kafka") {
        true => groups::kafka::rounds(tansu, n, &modes, bench),
        false => Vec::new(),
    };
    // The other groups' Kafka baseline: the plain copy of the Kafka group's median round, or
    // one measured now.
    let median = median_by(&rounds, |round| round.ratio(groups::kafka::ONE_SECOND));
    let measured;
    let copy = match &median {
        Some((round, _)) => Some(&round.copy),
        None if runs("copy") || runs("count1") || runs("memory") => {
            measured =
                groups::kafka::plain_copies(tansu, n, (&modes, copy::Headers::AsRead), bench);
            measured.as_ref()
        }
        None => None,
    };
    let plain_name = copy.map_or("plain rdkafka copy".into(), |copy| {
        format!("plain rdkafka copy, {}", copy.label)
    });
    let plain = (plain_name.as_str(), copy.map_or(f64::NAN, Run::rate));

    // Not in the default set: riff's 1 s Kafka pass-through alone, for profiles and A/B runs.
    if args.only.iter().any(|g| g == "pass-through") {
        groups::warm_up(tansu, n);
        let result = scenarios::riff_kafka(tansu, n, 4, groups::kafka::ONE_SECOND);
        bench.run("riff, {duration: 1s} windows", result);
    }
    if let Some((median, _)) = median {
        groups::kafka::figures(n, &rounds, median, bench);
    }
    if runs("windows") {
        groups::windows::measure(tansu, n / 5, bench);
    }
    if runs("telemetry") {
        groups::telemetry::measure(tansu, n, bench);
    }
    let count_1 = match runs("count1") {
        true => groups::count1::measure(tansu, n / 10, plain, bench).await,
        false => None,
    };
    if runs("count1") || runs("latency") {
        let rate = match (args.latency_rate, count_1) {
            (Some(rate), _) => Some((rate, "given")),
            (None, Some(count_1)) => Some((count_1 / 10.0, "10% of the count-1 maximum")),
            (None, None) => None,
        };
        if let Some(rate) = rate {
            groups::latency::measure(tansu, rate, &modes, bench);
        }
    }
    if runs("poison") {
        groups::poison::measure(tansu, bench);
    }
    if runs("memory") {
        groups::memory::measure(n, plain, bench).await;
    }
    if runs("footprint") {
        groups::footprint::idle_rss(bench);
    }
    if runs("footprint") || runs("idle") {
        groups::footprint::idle_kafka(tansu, bench);
    }
    if runs("footprint") || runs("light") {
        groups::footprint::light_load(tansu, bench);
    }
    if runs("footprint") {
        groups::footprint::overload(tansu, args.overload, bench);
    }
    if runs("controller") {
        groups::controller::measure(bench).await;
    }
    if runs("protocol") {
        groups::protocol::measure(n, bench).await;
    }
}
