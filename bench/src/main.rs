//! `riff-bench`: throughput, latency and memory of riff-streaming, each figure against a
//! baseline measured in the same run (absolute times on shared machines drift). Writes a
//! Markdown report. Run it with `bench/run.sh`, which builds the binaries it starts.

mod controller;
mod footprint;
mod function;
mod kafka;
mod measure;
mod pipeline;
mod protocol;
mod report;
mod scenarios;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use riff_actors::broker::memory::MemoryBroker;
use riff_actors::broker::Broker;

use report::Figure;

/// Benchmarks of riff-streaming.
#[derive(Parser)]
struct Args {
    /// Where to write the Markdown report.
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
    /// Messages per throughput measurement.
    #[arg(long, default_value_t = 100_000)]
    messages: usize,
    /// The tansu binary (tests/run.sh installs it).
    #[arg(long, env = "TANSU", default_value_os_t = default_tansu())]
    tansu: PathBuf,
    #[command(subcommand)]
    command: Option<Internal>,
}

#[derive(Subcommand)]
enum Internal {
    /// Serve the bare echo invoker on a port (the protocol baseline).
    BareEcho { port: u16 },
}

fn default_tansu() -> PathBuf {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    home.join("bin/tansu")
}

fn main() {
    let args = Args::parse();
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
    let figures = system.block_on(measure_all(&args));
    let arguments: Vec<_> = std::env::args().skip(1).collect();
    let command = ["bench/run.sh".to_owned()]
        .into_iter()
        .chain(arguments)
        .collect::<Vec<_>>()
        .join(" ");
    let report = report::render(&figures, &command);
    std::fs::write(&args.out, &report).expect("the report is written");
    println!("{report}");
}

fn figure(
    name: String,
    value: f64,
    baseline_name: &str,
    baseline: f64,
    unit: &'static str,
    target: Option<&str>,
) -> Figure {
    let figure = Figure {
        name,
        value,
        baseline_name: baseline_name.into(),
        baseline,
        unit,
        target: target.map(Into::into),
    };
    eprintln!(
        "{}: {:.1} {} (baseline {:.1}, ratio {:.2})",
        figure.name,
        figure.value,
        unit,
        figure.baseline,
        figure.ratio()
    );
    figure
}

async fn measure_all(args: &Args) -> Vec<Figure> {
    let n = args.messages;
    let mut figures = Vec::new();

    let memory: std::sync::Arc<dyn Broker> = std::sync::Arc::new(MemoryBroker::new());
    let mut in_memory_100 = 0.0;
    for size in [100, 1000] {
        let (ours, raw) = scenarios::pass_through(&memory, n, size, 1, 1000).await;
        if size == 100 {
            in_memory_100 = ours;
        }
        let target = (size == 100).then_some("≥ 200k msg/s");
        figures.push(figure(
            format!("in-memory pass-through, {size} B"),
            ours,
            "raw broker copy",
            raw,
            "msg/s",
            target,
        ));
    }
    let (count_1, _) = scenarios::pass_through(&memory, n / 10, 100, 1, 1).await;
    let rate = count_1 / 10.0;
    let ((p50, p99), (raw50, raw99)) =
        scenarios::latency(&memory, rate, Duration::from_secs(5)).await;
    let at = format!("at {rate:.0} msg/s (10% of the count-1 maximum, {count_1:.0} msg/s)");
    figures.push(figure(
        format!("in-memory latency p50 {at}"),
        p50,
        "raw broker copy p50",
        raw50,
        "ms",
        None,
    ));
    figures.push(figure(
        format!("in-memory latency p99 {at}"),
        p99,
        "raw broker copy p99",
        raw99,
        "ms",
        Some("< 20 ms"),
    ));
    let averaged = scenarios::windowed(&memory, n).await;
    figures.push(figure(
        "time-averager, 1 s windows (in-memory)".into(),
        averaged,
        "pass-through, 100 B",
        in_memory_100,
        "msg/s",
        None,
    ));

    let tansu = kafka::Tansu::start(&args.tansu);
    let broker = tansu.broker();
    let kafka_n = n / 2;
    for size in [100, 1000] {
        let (ours, raw) = scenarios::pass_through(&broker, kafka_n, size, 1, 1000).await;
        figures.push(figure(
            format!("Kafka (tansu) pass-through, {size} B"),
            ours,
            "raw rdkafka consume→produce copy",
            raw,
            "msg/s",
            Some("≥ 0.70 of the raw copy"),
        ));
    }
    let (count_1, _) = scenarios::pass_through(&broker, kafka_n / 10, 100, 1, 1).await;
    let rate = count_1 / 10.0;
    let ((p50, p99), (raw50, raw99)) =
        scenarios::latency(&broker, rate, Duration::from_secs(5)).await;
    let at = format!("at {rate:.0} msg/s (10% of the count-1 maximum, {count_1:.0} msg/s)");
    figures.push(figure(
        format!("Kafka latency p50 {at}"),
        p50,
        "raw copy p50",
        raw50,
        "ms",
        None,
    ));
    figures.push(figure(
        format!("Kafka latency p99 {at}"),
        p99,
        "raw copy p99",
        raw99,
        "ms",
        Some("< 20 ms"),
    ));
    let mut one_partition = 0.0;
    for partitions in [1, 2, 4] {
        let (ours, _) = scenarios::pass_through(&broker, kafka_n, 100, partitions, 1000).await;
        if partitions == 1 {
            one_partition = ours;
        }
        figures.push(figure(
            format!("Kafka pass-through, {partitions} partition(s)"),
            ours,
            "1 partition",
            one_partition,
            "msg/s",
            None,
        ));
    }

    let one = footprint::idle_rss(1);
    let hundred = footprint::idle_rss(100);
    figures.push(figure(
        "peak RSS of riff, 100 idle processors".into(),
        hundred,
        "1 processor",
        one,
        "MiB",
        Some("< 200 MiB"),
    ));
    let (late, early) = footprint::overload_rss(
        &tansu.bootstrap,
        Duration::from_secs(15),
        Duration::from_secs(45),
    )
    .await;
    figures.push(figure(
        "RSS of riff after 45 s of overload (Kafka)".into(),
        late,
        "after 15 s",
        early,
        "MiB",
        Some("flat (ratio ≈ 1)"),
    ));

    let resources = 100;
    let (converged, baseline, writes) = controller::convergence(resources).await;
    figures.push(figure(
        format!("controller: {resources} streams + {resources} processors from created to Ready"),
        converged,
        &format!("the same {writes} API writes, one kube-rs client in sequence"),
        baseline,
        "s",
        None,
    ));

    let (ours, bare) = protocol::invoke_rate(n).await;
    figures.push(figure(
        "streaming.Riff/Invoke, SDK pass-through on 1 core".into(),
        ours,
        "bare tonic echo on 1 core",
        bare,
        "frames/s",
        None,
    ));
    figures
}
