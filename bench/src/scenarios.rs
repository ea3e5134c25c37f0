//! The measured jobs. Throughput: `count` records of 100 B JSON preloaded on the input topic,
//! copied to the output topic, timed from the moment the copier starts reading (riff logs its
//! processor's partitions assigned; the plain copy prints `reading`) to the moment the bench
//! sees the copier's consumer group committed the last input offset (both commit only after
//! their outputs were acknowledged), then the output is read back and counted exactly
//! (untimed). Both copiers run as processes of their own, measured through `/proc`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::copy::{Commit, Headers};
use crate::function::sibling;
use crate::kafka::{self, Commits, Tansu};
use crate::liiklus;
use crate::measure::{cpu_seconds, descendants, json_payload, p50_p99, tree_rss_mib, Tally};
use crate::riff::{self, Gateway, Riff};

/// Payload size of the throughput jobs.
pub const SIZE: usize = 100;
/// A copier whose commits make no progress for this long failed: longer than riff's default
/// window duration (60 s), the longest a window whose count is not reached may stay open.
const STALL: Duration = Duration::from_secs(75);
/// Reading an output back takes at most this long.
const VERIFY: Duration = Duration::from_secs(120);

/// One measured copy.
pub struct Run {
    /// Which variant ran, when there are several.
    pub label: String,
    /// Records copied.
    pub records: usize,
    /// From reading started to the last offset committed.
    pub elapsed: Duration,
    /// CPU time of the copier's process over `elapsed`, per record, in µs.
    pub cpu_us: f64,
    /// CPU time of its child processes (the function) over `elapsed`, per record, in µs.
    pub children_cpu_us: f64,
    /// Peak resident MiB of the copier (with its function processes).
    pub peak_rss: f64,
    /// Resident MiB of `riff` before its processor started (after the preload), if riff.
    pub rss_before: Option<f64>,
    /// The output read back, when it was.
    pub tally: Option<Tally>,
}

impl Run {
    /// Records per second.
    pub fn rate(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64()
    }

    /// Whether the output held every record, unchanged.
    pub fn complete(&self) -> bool {
        self.tally.as_ref().is_none_or(Tally::complete)
    }

    /// What was checked and measured besides the rate.
    pub fn note(&self) -> String {
        let tally = self
            .tally
            .as_ref()
            .map_or("output not checked".into(), Tally::summary);
        format!(
            "{} records in {:.2} s; {tally}; CPU {:.2} µs/record (+ {:.2} in child processes); \
             peak RSS {:.0} MiB{}",
            self.records,
            self.elapsed.as_secs_f64(),
            self.cpu_us,
            self.children_cpu_us,
            self.peak_rss,
            self.rss_before.map_or(String::new(), |rss| format!(
                " ({rss:.0} MiB before the processor started)"
            ))
        )
    }
}

/// CPU seconds of a process and of its descendants.
struct Cpu(f64, f64);

impl Cpu {
    fn of(pid: u32) -> Cpu {
        let children = descendants(pid).into_iter().map(cpu_seconds).sum();
        Cpu(cpu_seconds(pid), children)
    }

    /// µs per record of the process and of its descendants since `before`.
    fn since(&self, before: &Cpu, records: usize) -> (f64, f64) {
        let per_record = |seconds: f64| seconds * 1e6 / records as f64;
        (per_record(self.0 - before.0), per_record(self.1 - before.1))
    }
}

const INPUT: &str = "default_in";
const OUTPUT: &str = "default_out";

/// The plain rdkafka copy (`riff-bench plain-copy`) of `count` records on `partitions`
/// partitions of a fresh tansu.
pub fn plain_copy(
    tansu: &Path,
    count: usize,
    partitions: i32,
    (commit, headers): (Commit, Headers),
) -> anyhow::Result<Run> {
    let broker = Tansu::start(tansu);
    let bootstrap = &broker.bootstrap;
    kafka::create_topic(bootstrap, INPUT, partitions)?;
    kafka::create_topic(bootstrap, OUTPUT, partitions)?;
    kafka::preload(bootstrap, INPUT, partitions, count, SIZE);
    let ends = kafka::preloaded_ends(count, partitions);
    let commits = Commits::new(bootstrap, INPUT, "plain-copy", partitions);
    let mut copy = PlainCopy::start(bootstrap, partitions, count, (commit, headers))?;
    let start = Instant::now();
    let pid = copy.pid();
    let stop = || {
        let peak_rss = tree_rss_mib(pid).1;
        copy.stop();
        peak_rss
    };
    let copied = Copied {
        pid,
        start,
        rss_before: None,
        copies: 1,
    };
    copied.measure(bootstrap, partitions, count, &commits, &ends, stop)
}

/// A copier running on a Kafka job: its process, when it started reading, its RSS before.
struct Copied {
    pid: u32,
    start: Instant,
    rss_before: Option<f64>,
    /// How many times each record is in the output (windows per record); more than one: exactly.
    copies: usize,
}

impl Copied {
    /// Waits until the copier's group committed `ends`, measuring its CPU meanwhile; `stop`
    /// stops it and tells its peak RSS; then the output is counted.
    fn measure(
        self,
        bootstrap: &str,
        partitions: i32,
        count: usize,
        commits: &Commits,
        ends: &[i64],
        stop: impl FnOnce() -> f64,
    ) -> anyhow::Result<Run> {
        let cpu = Cpu::of(self.pid);
        let end = commits.wait_for(ends, STALL)?;
        let cpu = Cpu::of(self.pid).since(&cpu, count);
        let peak_rss = stop();
        let tally = kafka::verify(bootstrap, OUTPUT, partitions, count, SIZE, VERIFY)?;
        let repeated = count * (self.copies - 1);
        let closers = partitions as usize * self.copies;
        if tally.closers > closers {
            bail!("{} window closers called, at most {closers}", tally.closers);
        }
        if self.copies > 1 && tally.duplicates != repeated {
            bail!(
                "{} repeated outputs, not {repeated} ({} windows per record): {}",
                tally.duplicates,
                self.copies,
                tally.summary()
            );
        }
        Ok(Run {
            label: String::new(),
            records: count,
            elapsed: end - self.start,
            cpu_us: cpu.0,
            children_cpu_us: cpu.1,
            peak_rss,
            rss_before: self.rss_before,
            tally: Some(tally),
        })
    }
}

/// A `riff-bench plain-copy` process that started reading.
struct PlainCopy(riff_testkit::Child);

impl PlainCopy {
    fn start(
        bootstrap: &str,
        partitions: i32,
        count: usize,
        (commit, headers): (Commit, Headers),
    ) -> anyhow::Result<PlainCopy> {
        let mut child = Command::new(sibling("riff-bench"))
            .args(["plain-copy", bootstrap, INPUT, OUTPUT])
            .args([partitions.to_string(), count.to_string()])
            .args(["--commit", commit.name(), "--headers", headers.name()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line)?;
        if line.trim() != "reading" {
            bail!("the plain copy did not start: {line:?}");
        }
        Ok(PlainCopy(child.into()))
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn stop(&mut self) {
        self.0.kill();
    }
}

/// The YAML of processor `pass-through` with windows `window`, for the report.
pub fn pass_through_yaml(window: &str) -> String {
    riff::processor("pass-through", "pass-through", window, &[])
}

/// `riff local run` copying `count` records on `partitions` partitions of a fresh tansu
/// through processor `pass-through` (the sample function, out of process) in windows `window`.
pub fn riff_kafka(
    tansu: &Path,
    count: usize,
    partitions: i32,
    window: &str,
) -> anyhow::Result<Run> {
    riff_kafka_with(tansu, count, partitions, window, &[], &[])
}

/// [`riff_kafka`] with more `riff local run` arguments `args` and environment `env`.
pub fn riff_kafka_with(
    tansu: &Path,
    count: usize,
    partitions: i32,
    window: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> anyhow::Result<Run> {
    let preload = |bootstrap: &str| kafka::preload(bootstrap, INPUT, partitions, count, SIZE);
    riff_job(tansu, (count, partitions), window, (args, env), preload, 1)
}

/// Keys of the window benchmarks' records.
pub const KEYS: usize = 1000;
/// Event time between two consecutive records of the window benchmarks: 100 µs, 10 000
/// records per event-time second.
const SPACING_US: u64 = 100;
/// The event time of the window benchmarks' first record (a whole minute).
const BASE_MS: i64 = 1_800_000_000_000;

/// `riff local run` putting `count` keyed records with event times ([`KEYS`] keys, 10 000 per
/// second of event time) on `partitions` partitions through `pass-through` in windows `window`,
/// each record in `copies` windows: until every record's position is committed (event time:
/// records closing the windows follow the preload), then the output is read back, where each
/// record must be `copies` times.
pub fn riff_windows(
    tansu: &Path,
    count: usize,
    partitions: i32,
    window: &str,
    copies: usize,
) -> anyhow::Result<Run> {
    let closing = window.contains("event");
    let events = (KEYS, SPACING_US, BASE_MS);
    let preload = |bootstrap: &str| {
        kafka::preload_events(bootstrap, INPUT, partitions, count, events, closing)
    };
    riff_job(
        tansu,
        (count, partitions),
        window,
        (&[], &[]),
        preload,
        copies,
    )
}

/// `riff local run` (with `args` and `env`) on a fresh tansu, `preload` filling the input's
/// `partitions` partitions with `count` records, copying them through `pass-through` in
/// windows `window`; each record must reach the output `copies` times.
fn riff_job(
    tansu: &Path,
    (count, partitions): (usize, i32),
    window: &str,
    (args, env): (&[&str], &[(&str, &str)]),
    preload: impl FnOnce(&str),
    copies: usize,
) -> anyhow::Result<Run> {
    let broker = Tansu::start(tansu);
    let bootstrap = &broker.bootstrap;
    kafka::create_topic(bootstrap, INPUT, partitions)?;
    kafka::create_topic(bootstrap, OUTPUT, partitions)?;
    let yaml = riff::streams(Gateway::Kafka(bootstrap), partitions as u32);
    let mut riff = Riff::start_with(&yaml, &riff::tansu_properties(), args, env)?;
    preload(bootstrap);
    let ends = kafka::preloaded_ends(count, partitions);
    let commits = Commits::new(bootstrap, INPUT, "pass-through", partitions);
    let rss_before = riff.rss().0;
    riff.add("processor.yaml", &pass_through_yaml(window))?;
    let start = riff.wait_for(
        &format!("partitions assigned topic={INPUT}"),
        Duration::from_secs(60),
    )?;
    let copied = Copied {
        pid: riff.pid(),
        start,
        rss_before: Some(rss_before),
        copies,
    };
    let stop = || {
        let peak_rss = riff.rss().1;
        drop(riff);
        peak_rss
    };
    copied.measure(bootstrap, partitions, count, &commits, &ends, stop)
}

/// p50 and p99 latency, in ms.
pub type Percentiles = (f64, f64);

/// `count` records published one at a time through the liiklus API of `riff local run`'s
/// in-memory gateway (no processor), each read by a subscriber on the same connection before
/// the next: the publishes' p50 and p99, and from each publish to the subscriber.
pub async fn gateway_round_trips(count: usize) -> anyhow::Result<(Percentiles, Percentiles)> {
    let riff = Riff::start(&riff::streams(Gateway::Memory, 4), &[])?;
    let (mut calls, mut arrivals) =
        liiklus::round_trips(&riff.gateway, "default/in", count).await?;
    Ok((p50_p99(&mut calls), p50_p99(&mut arrivals)))
}

/// p50 and p99 latency (ms) of `count` stamped records published at `rate` per second to the
/// input topic of the tansu at `bootstrap`, from their stamp to their arrival on the output
/// topic (`partitions` partitions), where `copies` records are expected (a copier each): of
/// every record, and of those stamped after the first second (the copiers warmed up).
pub fn paced_latencies(
    bootstrap: &str,
    partitions: i32,
    rate: f64,
    count: usize,
    copies: usize,
) -> anyhow::Result<(Percentiles, Percentiles)> {
    let reader = {
        let bootstrap = bootstrap.to_owned();
        let limit = Duration::from_secs_f64(count as f64 / rate) + Duration::from_secs(60);
        std::thread::spawn(move || kafka::latencies(&bootstrap, OUTPUT, partitions, copies, limit))
    };
    // The reader's partitions assigned before the first stamp.
    std::thread::sleep(Duration::from_secs(1));
    kafka::paced(bootstrap, INPUT, count, rate);
    let latencies = reader.join().expect("the latency reader")?;
    let first_second = rate.ceil() as u64;
    let warm = latencies.iter().filter(|(n, _)| *n >= first_second);
    let mut warm: Vec<Duration> = warm.map(|&(_, latency)| latency).collect();
    let mut every: Vec<Duration> = latencies.into_iter().map(|(_, l)| l).collect();
    Ok((p50_p99(&mut every), p50_p99(&mut warm)))
}

/// p50 and p99 latency (ms) of `count` stamped records published at `rate` per second on 4
/// partitions, from their stamp to their arrival on the output: through `riff local run` with
/// count-1 windows, and through the plain copy with each of `commits`.
pub fn latency(
    tansu: &Path,
    rate: f64,
    count: usize,
    commits: &[Commit],
) -> anyhow::Result<(Percentiles, Vec<(Commit, Percentiles)>)> {
    let partitions = 4;
    let measure = |copier: &dyn Fn(&str) -> anyhow::Result<Box<dyn Send>>| {
        let broker = Tansu::start(tansu);
        let bootstrap = broker.bootstrap.clone();
        kafka::create_topic(&bootstrap, INPUT, partitions)?;
        kafka::create_topic(&bootstrap, OUTPUT, partitions)?;
        let running = copier(&bootstrap)?;
        let latencies = paced_latencies(&bootstrap, partitions, rate, count, count);
        drop(running);
        latencies.map(|(every, _)| every)
    };
    let ours = measure(&|bootstrap| {
        let yaml = riff::streams(Gateway::Kafka(bootstrap), partitions as u32);
        let mut riff = Riff::start(&yaml, &riff::tansu_properties())?;
        riff.add("processor.yaml", &pass_through_yaml("{count: 1}"))?;
        riff.wait_for(
            &format!("partitions assigned topic={INPUT}"),
            Duration::from_secs(60),
        )?;
        Ok(Box::new(riff))
    })?;
    let mut baselines = Vec::new();
    for &commit in commits {
        let baseline = measure(&|bootstrap| {
            let copy = PlainCopy::start(bootstrap, partitions, count, (commit, Headers::AsRead));
            Ok(Box::new(copy?))
        })?;
        baselines.push((commit, baseline));
    }
    Ok((ours, baselines))
}

/// `riff local run` with an in-memory gateway: `count` records published through the gateway's
/// liiklus API on 4 partitions, then processor `name` (sample function `function` with `env`,
/// windows `window`) started with a live edit and timed until its group committed the last
/// offset. The output is counted when `payload` is [`json_payload`]'s.
pub async fn riff_memory(
    count: usize,
    function: &str,
    env: &[(&str, &str)],
    window: &str,
    averages: bool,
) -> anyhow::Result<Run> {
    let mut riff = Riff::start(&riff::streams(Gateway::Memory, 4), &[])?;
    let client = liiklus::connect(&riff.gateway).await?;
    let (input, output) = ("default/in", "default/out");
    if averages {
        liiklus::publish(&client, input, count, |i| (i % 100).to_string().into()).await?;
    } else {
        liiklus::publish(&client, input, count, |i| json_payload(i, SIZE)).await?;
    }
    let ends = liiklus::ends(&client, input).await?;
    let rss_before = riff.rss().0;
    riff.add(
        "processor.yaml",
        &riff::processor(function, function, window, env),
    )?;
    let start = riff.wait_for(
        &format!("partitions assigned topic={input}"),
        Duration::from_secs(60),
    )?;
    let cpu = Cpu::of(riff.pid());
    let end = liiklus::wait_for_commits(&client, input, function, &ends, STALL).await?;
    let cpu = Cpu::of(riff.pid()).since(&cpu, count);
    let peak_rss = riff.rss().1;
    let tally = if averages {
        None
    } else {
        let tally = liiklus::verify(&riff.gateway, output, count, SIZE, VERIFY)
            .await
            .context("reading the output back")?;
        Some(tally)
    };
    Ok(Run {
        label: String::new(),
        records: count,
        elapsed: end - start,
        cpu_us: cpu.0,
        children_cpu_us: cpu.1,
        peak_rss,
        rss_before: Some(rss_before),
        tally,
    })
}

/// How long processor `isolate` (the `flaky-square` fixture, `delivery: {maxAttempts: 3,
/// backoff: {initial: 100ms, max: 5s}, deadLetter: {stream: dead}}`) takes to complete one
/// window of the numbers `1..=count` preloaded on one partition, from its partition assigned to
/// its group's commit of the last record; with `poison`, a number the function fails on, which
/// must end on the dead-letter stream alone while every other square is written.
pub fn poison_isolation(
    tansu: &Path,
    count: usize,
    poison: Option<usize>,
) -> anyhow::Result<Duration> {
    let broker = Tansu::start(tansu);
    let bootstrap = &broker.bootstrap;
    kafka::create_topic(bootstrap, INPUT, 1)?;
    kafka::create_topic(bootstrap, OUTPUT, 1)?;
    let mut yaml = riff::streams(Gateway::Kafka(bootstrap), 1);
    yaml += "---\napiVersion: streaming.projectriff.io/v1alpha1\nkind: Stream\nmetadata: {name: dead}\nspec: {gateway: {name: gw}, contentType: application/json, partitions: 1}\n";
    let mut riff = Riff::start(&yaml, &riff::tansu_properties())?;
    kafka::preload_numbers(bootstrap, INPUT, count);
    let commits = Commits::new(bootstrap, INPUT, "isolate", 1);
    let window = format!(
        "{{count: {count}, duration: 60s}}\n  delivery: {{maxAttempts: 3, backoff: {{initial: 100ms, max: 5s}}, deadLetter: {{stream: dead}}}}"
    );
    let fail_on = poison.map(|n| n.to_string()).unwrap_or_default();
    let env: Vec<(&str, &str)> = poison
        .map(|_| ("FAIL_ON", fail_on.as_str()))
        .into_iter()
        .collect();
    riff.add(
        "processor.yaml",
        &riff::processor("isolate", "flaky-square", &window, &env),
    )?;
    let start = riff.wait_for(
        &format!("partitions assigned topic={INPUT}"),
        Duration::from_secs(60),
    )?;
    let end = commits.wait_for(&[count as i64], STALL)?;
    drop(riff);
    let squares = count - usize::from(poison.is_some());
    let written = kafka::read_payloads(bootstrap, OUTPUT, 1, squares, VERIFY)?;
    if written.len() != squares {
        bail!("{} squares written, {squares} expected", written.len());
    }
    if let Some(poison) = poison {
        let dead = kafka::read_payloads(bootstrap, "default_dead", 1, 1, VERIFY)?;
        if dead != [poison.to_string().into_bytes()] {
            bail!("the dead-letter stream holds {dead:?}, not the poison record {poison} alone");
        }
    }
    Ok(end - start)
}
