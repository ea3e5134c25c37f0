//! What many processors cost in one `riff local run`: resident memory (with the function
//! processes) with 1 and with 100 idle processors, CPU of idle Kafka-backed ones, latency under
//! a light load, and memory over time under sustained overload (a producer faster than the
//! processor).

use std::time::{Duration, Instant};

use crate::kafka::{self, Commits, Tansu};
use crate::measure::{cpu_seconds, rss_mib};
use crate::riff::{self, Gateway, Riff};
use crate::scenarios::{self, Percentiles};

/// YAML: gateway, streams `in` and `out`, and `processors` processors `p<i>` running
/// `pass-through` from `in` to `out` with count-1 windows.
fn manifests(processors: usize, gateway: Gateway) -> String {
    let mut yaml = riff::streams(gateway, 1);
    for i in 0..processors {
        yaml += "---\n";
        yaml += &riff::processor(&format!("p{i}"), "pass-through", "{count: 1}", &[]);
    }
    yaml
}

/// Peak resident MiB of `riff` alone, and of `riff` with its function processes, running
/// `processors` idle processors (in memory).
pub fn idle_rss(processors: usize) -> anyhow::Result<(f64, f64)> {
    let riff = Riff::start(&manifests(processors, Gateway::Memory), &[])?;
    std::thread::sleep(Duration::from_secs(2));
    Ok((rss_mib(riff.pid()).1, riff.rss().1))
}

/// Under a producer flooding its input on Kafka, faster than its one processor (count-1
/// windows) can go: resident MiB of `riff` with its function after `warm_up` and after
/// `duration` more, and the records its processor committed during `duration`.
pub fn overload_rss(
    tansu: &std::path::Path,
    warm_up: Duration,
    duration: Duration,
) -> anyhow::Result<(f64, f64, i64)> {
    let broker = Tansu::start(tansu);
    let bootstrap = broker.bootstrap.clone();
    let riff = Riff::start(
        &manifests(1, Gateway::Kafka(&bootstrap)),
        &riff::tansu_properties(),
    )?;
    let commits = Commits::new(&bootstrap, "default_in", "p0", 1);
    let flooding = {
        let bootstrap = bootstrap.clone();
        let total = warm_up + duration;
        std::thread::spawn(move || kafka::flood(&bootstrap, "default_in", total))
    };
    std::thread::sleep(warm_up);
    let early = riff.rss().0;
    let committed = commits.committed()[0];
    flooding.join().unwrap();
    let late = riff.rss().0;
    let progress = commits.committed()[0] - committed;
    Ok((late, early, progress))
}

/// What idle Kafka-backed processors cost.
pub struct Idle {
    /// CPU of the riff process, in % of a core.
    pub riff_cpu: f64,
    /// CPU of the broker meanwhile, in % of a core.
    pub broker_cpu: f64,
    /// CPU of the same broker before riff started (no clients), in % of a core.
    pub broker_alone: f64,
    /// Resident MiB of the riff process.
    pub rss: f64,
    /// Threads of the riff process.
    pub threads: u64,
    /// From starting `riff local run` until every processor's group assigned it partitions.
    pub startup: Duration,
}

/// How long CPU is measured.
const IDLE_SPAN: Duration = Duration::from_secs(10);

/// The CPU seconds each of `pids` uses while `work` runs, and what `work` returned.
fn cpu_during<const N: usize, T>(pids: [u32; N], work: impl FnOnce() -> T) -> ([f64; N], T) {
    let before = pids.map(cpu_seconds);
    let done = work();
    let mut used = pids.map(cpu_seconds);
    for (used, before) in used.iter_mut().zip(before) {
        *used -= before;
    }
    (used, done)
}

/// The CPU each of `pids` uses over [`IDLE_SPAN`], in % of a core.
fn cpu_shares<const N: usize>(pids: [u32; N]) -> [f64; N] {
    let (used, ()) = cpu_during(pids, || std::thread::sleep(IDLE_SPAN));
    used.map(|seconds| seconds / IDLE_SPAN.as_secs_f64() * 100.0)
}

/// Threads of process `pid`.
fn threads(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    (status.lines())
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0)
}

/// `processors` idle processors on a Kafka stream (a fresh tansu) in one `riff local run` with
/// librdkafka `properties` (none: the product's defaults): CPU of riff and of the broker over
/// 10 s once every group is assigned, riff's RSS and threads, and the start-up time.
pub fn idle_kafka(
    tansu: &std::path::Path,
    processors: usize,
    properties: &[&str],
) -> anyhow::Result<Idle> {
    let broker = Tansu::start(tansu);
    let [broker_alone] = cpu_shares([broker.pid()]);
    let started = Instant::now();
    let yaml = manifests(processors, Gateway::Kafka(&broker.bootstrap));
    let riff = Riff::start(&yaml, properties)?;
    let startup = started.elapsed();
    std::thread::sleep(Duration::from_secs(5));
    let [riff_cpu, broker_cpu] = cpu_shares([riff.pid(), broker.pid()]);
    Ok(Idle {
        riff_cpu,
        broker_cpu,
        broker_alone,
        rss: rss_mib(riff.pid()).0,
        threads: threads(riff.pid()),
        startup,
    })
}

/// Latency and CPU of processors copying a light load (the CPU per copy says little of one
/// processor at 10 records a second: its idle polling is most of it).
pub struct LightLoad {
    /// p50 and p99 latency (ms) of every record.
    pub all: Percentiles,
    /// p50 and p99 latency (ms) of the records after the first second.
    pub warm: Percentiles,
    /// CPU µs of the riff process per copy (a record copied by one processor).
    pub riff_cpu: f64,
    /// CPU µs of the broker per copy.
    pub broker_cpu: f64,
}

/// `processors` processors (count-1 windows, all reading `in`, on a fresh tansu, librdkafka
/// `properties`) under `rate` stamped records a second on `in` for `seconds`: every processor
/// copies every record, from its stamp to its arrival on `out`.
pub fn light_load_latency(
    tansu: &std::path::Path,
    processors: usize,
    properties: &[&str],
    rate: f64,
    seconds: u64,
) -> anyhow::Result<LightLoad> {
    let broker = Tansu::start(tansu);
    let bootstrap = broker.bootstrap.clone();
    kafka::create_topic(&bootstrap, "default_in", 1)?;
    kafka::create_topic(&bootstrap, "default_out", 1)?;
    let yaml = manifests(processors, Gateway::Kafka(&bootstrap));
    let riff = Riff::start(&yaml, properties)?;
    let count = (rate * seconds as f64) as usize;
    let copies = count * processors;
    let (used, latencies) = cpu_during([riff.pid(), broker.pid()], || {
        scenarios::paced_latencies(&bootstrap, 1, rate, count, copies)
    });
    let (all, warm) = latencies?;
    let [riff_cpu, broker_cpu] = used.map(|seconds| seconds * 1e6 / copies as f64);
    Ok(LightLoad {
        all,
        warm,
        riff_cpu,
        broker_cpu,
    })
}
