//! The faults, one scenario each, and what they share: the scene, the fault measurement and the
//! final count.

use std::time::{Duration, Instant};

use crate::kafka::{on_partition, Load, Probe, Reader, PARTITIONS};
use crate::kafka_support::{franz_with_streams, replica_args, tansu_args, Tansu};
use crate::support::{eventually, Manifests, ProcessorYaml, Runtime};

use crate::{
    Row, GROUP, INPUT, LOAD_AT_LEAST, OUTPUT, RATE, RECORDS, SQLITE_RATE, SQLITE_RECORDS, WINDOW,
};

/// [`riff_testkit::within_every`] 100 ms: the checks ask the broker.
fn within<T>(timeout: Duration, check: impl FnMut() -> Option<T>) -> Option<T> {
    riff_testkit::within_every(Duration::from_millis(100), timeout, check)
}

pub struct Scenario {
    /// For `RIFF_FAULTS`.
    pub name: &'static str,
    /// For the table.
    pub fault: &'static str,
    pub run: fn() -> Row,
}

pub const ALL: [Scenario; 6] = [
    Scenario {
        name: "kill-riff",
        fault: "kill -9 of riff local run mid-window, then a restart",
        run: kill_riff,
    },
    Scenario {
        name: "kill-function",
        fault: "kill -9 of the function process mid-window",
        run: kill_function,
    },
    Scenario {
        name: "broker-restart",
        fault: "tansu (SQLite) killed mid-stream, restarted 2 s later",
        run: broker_restart,
    },
    Scenario {
        name: "second-replica",
        fault: "a second replica joins, is killed -9, the first restarts",
        run: second_replica,
    },
    Scenario {
        name: "rebuild-before-commit",
        fault: "tansu restarted before the first window completed",
        run: rebuild_before_commit,
    },
    Scenario {
        name: "cluster",
        fault: "riff processor sidecar killed -9 (restarted once its session lapsed), riff gateway restarted",
        run: crate::cluster::sidecar_and_gateway,
    },
];

/// How long riff may take, after the load, to commit the whole input.
const PATIENCE: Duration = Duration::from_secs(60);
/// How long the output may stay silent before the records still missing count as lost. Silence
/// is no sign of loss on tansu 0.6.0's SQLite engine: it answers a fetch with every record of a
/// partition up to the fetch's byte limit (counted on keys and values only: the whole partition
/// here), running one header query per record, so a fresh reader of the output (CloudEvents
/// headers on every record) gets its partitions in one or two responses, the second 6-10 s after
/// the first on this 2-core machine, longer under load after a restart. The read ends as soon as
/// every number is there: a long wait costs time only when records are really missing.
const STRAGGLERS: Duration = Duration::from_secs(60);
/// How long riff may take to commit again on every partition after a fault.
const RECOVERY: Duration = Duration::from_secs(30);

/// A tansu broker's storage.
#[derive(Clone, Copy, PartialEq)]
pub enum Engine {
    Memory,
    /// Survives a restart of the broker.
    Sqlite,
}

/// A broker, a probe of the processor's group on it, and the load it can take.
pub struct Broker {
    pub tansu: Tansu,
    pub probe: Probe,
    _data: Option<tempfile::TempDir>,
    records: u64,
    rate: u64,
}

impl Broker {
    pub fn start(engine: Engine) -> Broker {
        let (tansu, data, records, rate) = match engine {
            Engine::Memory => (Tansu::memory(), None, RECORDS, RATE),
            Engine::Sqlite => {
                let data = tempfile::tempdir().unwrap();
                let tansu = Tansu::sqlite(data.path());
                (tansu, Some(data), SQLITE_RECORDS, SQLITE_RATE)
            }
        };
        let probe = Probe::new(&tansu.bootstrap(), GROUP, INPUT);
        Broker {
            tansu,
            probe,
            _data: data,
            records,
            rate,
        }
    }

    pub fn bootstrap(&self) -> String {
        self.tansu.bootstrap()
    }

    /// Starts the load on the input.
    pub fn load(&self) -> Load {
        Load::start(&self.bootstrap(), INPUT, self.records, self.rate)
    }
}

/// A broker and the YAML of `riff local run`: KafkaGateway `franz`, streams `numbers` and
/// `copies` of 4 partitions, processor `passer` running `function` from the latest record.
struct Local {
    broker: Broker,
    manifests: Manifests,
    /// The arguments of `riff local run` besides the YAML.
    args: Vec<&'static str>,
}

impl Local {
    fn new(engine: Engine, function: &str) -> Local {
        let broker = Broker::start(engine);
        let mut yaml = franz_with_streams(
            &broker.bootstrap(),
            &["numbers", "copies"],
            PARTITIONS as u32,
        );
        yaml += &ProcessorYaml::sample(GROUP, function, &["numbers"], &["copies"], WINDOW).yaml();
        let manifests = Manifests::new(&[("all.yaml", &yaml)]);
        let args = tansu_args();
        Local {
            broker,
            manifests,
            args,
        }
    }

    /// Like [`Local::new`], for replicas: several `riff local run`s of the YAML (see
    /// [`replica_args`]).
    fn replicas(engine: Engine, function: &str) -> Local {
        Local {
            args: replica_args(),
            ..Local::new(engine, function)
        }
    }

    /// Starts `riff local run` (quick group joins) and waits until it reports running.
    fn run(&self) -> Runtime {
        Runtime::start_with(&[self.manifests.path()], &self.args)
    }

    /// Starts `riff local run` like [`Local::run`] once the scenario is under way: one that
    /// does not report running within a minute is a finding (added to `failures`), and the
    /// scenario goes on with it.
    fn run_again(&self, which: &str, failures: &mut Vec<String>) -> Runtime {
        let riff = Runtime::spawn_with(&[self.manifests.path()], &self.args);
        let running = within(Duration::from_secs(60), || {
            riff.log()
                .iter()
                .any(|line| line.contains("running; press Ctrl-C to stop"))
                .then_some(())
        });
        if running.is_none() {
            failures.push(format!("{which} did not report running within 60 s"));
        }
        riff
    }
}

/// What a scenario found out so far.
#[derive(Default)]
pub struct Report {
    /// The duplicates the faults so far may cause (see the crate's documentation).
    bound: u64,
    pub notes: Vec<String>,
    pub failures: Vec<String>,
}

impl Report {
    /// Injects `fault` and adds the records it puts at risk of a second processing to the bound:
    /// the input records from the group's committed positions just before the fault up to the
    /// load's progress once the group committed again on every partition (within [`RECOVERY`]).
    pub fn fault(&mut self, probe: &Probe, load: &Load, what: &str, inject: impl FnOnce()) {
        let before = eventually("the committed positions", Duration::from_secs(30), || {
            probe.committed()
        });
        let started = Instant::now();
        // Whether the whole load was sent before the fault, and so how much each partition has.
        let (finished, sent_before) = (load.all_sent(), load.sent());
        inject();
        // A partition recovered when its position moved on, or when it had nothing left to
        // commit (the fault came after the whole load on it was processed).
        let recovered = within(RECOVERY, || {
            let now = probe.committed()?;
            now.iter()
                .zip(&before)
                .enumerate()
                .all(|(partition, (now, &then))| {
                    now > &then || (finished && then as u64 >= on_partition(sent_before, partition))
                })
                .then_some(())
        });
        // Every record sent so far, whether or not the broker has it yet: an upper bound of
        // the input's end on each partition.
        let sent = load.sent();
        let at_risk: u64 = before
            .iter()
            .enumerate()
            .map(|(partition, &from)| on_partition(sent, partition).saturating_sub(from as u64))
            .sum();
        self.bound += at_risk;
        let outcome = match recovered {
            Some(()) => format!(
                "committed again on every partition {:.1?} after the fault",
                started.elapsed()
            ),
            None => format!("did NOT commit again on every partition within {RECOVERY:?}"),
        };
        let note = format!(
            "{what}: {outcome}; {at_risk} records at risk (committed {before:?}, \
             {sent} records sent)"
        );
        eprintln!("faults: {note}");
        self.notes.push(note);
    }

    /// Waits for the load's end and for riff to commit the whole input (or [`PATIENCE`]), then
    /// counts every record number in both topics: lost must be 0, duplicates at most the bound.
    pub fn conclude(mut self, fault: &'static str, broker: &mut Broker, load: Load) -> Row {
        let produced = self.load_finished(load);
        let mut row = Row {
            fault,
            produced,
            delivered: 0,
            lost: 0,
            duplicates: 0,
            bound: Some(self.bound),
            took: Duration::ZERO,
            failures: Vec::new(),
            notes: Vec::new(),
        };
        match Count::settle(broker, produced, PATIENCE, STRAGGLERS) {
            Ok(count) => {
                if !count.settled {
                    self.notes.push(format!(
                        "riff did not commit the whole input within {PATIENCE:?} after the \
                         load: committed {:?}, input end {:?}",
                        count.committed, count.ends
                    ));
                }
                let lost = count.lost();
                if !lost.is_empty() {
                    let first: Vec<String> = lost[..lost.len().min(10)]
                        .iter()
                        .map(|&n| count.whereabouts(n))
                        .collect();
                    self.failures.push(format!(
                        "{} records lost ({} of them below the committed positions), first \
                         ones (number@partition:offset): {}; committed {:?}, input end {:?}",
                        lost.len(),
                        count.lost_among_committed().len(),
                        first.join(" "),
                        count.committed,
                        count.ends
                    ));
                }
                let duplicates = count.duplicates();
                if duplicates > self.bound {
                    self.failures.push(format!(
                        "{duplicates} duplicates, more than the {} records at risk at the faults",
                        self.bound
                    ));
                }
                row.delivered = count.delivered();
                row.lost = lost.len() as u64;
                row.duplicates = duplicates;
            }
            Err(error) => self.failures.push(error),
        }
        if let Some(status) = broker.tansu.exit_status() {
            self.failures
                .push(format!("tansu died during the scenario: {status}"));
        }
        row.failures = self.failures;
        row.notes = self.notes;
        row
    }

    /// Waits for the load: every record acknowledged, over at least [`LOAD_AT_LEAST`].
    fn load_finished(&mut self, load: Load) -> u64 {
        match load.finish() {
            Ok(produced) => {
                if produced.acked < produced.records {
                    self.failures.push(format!(
                        "the broker acknowledged {} records of {}",
                        produced.acked, produced.records
                    ));
                }
                if produced.took < LOAD_AT_LEAST {
                    self.failures
                        .push(format!("the load lasted {:.1?} only", produced.took));
                }
                self.notes.push(format!(
                    "load: {} records in {:.1?}",
                    produced.acked, produced.took
                ));
                produced.acked
            }
            Err(error) => {
                self.failures.push(error);
                0
            }
        }
    }
}

/// Both topics, counted per record number once riff settled.
struct Count {
    /// Copies of each number in the input (a producer retry may have written one twice).
    inputs: Vec<u32>,
    /// Copies of each number in the output.
    outputs: Vec<u32>,
    /// The input's numbers by partition, in offset order: `(offset, number)`.
    by_offset: Vec<Vec<(i64, u64)>>,
    /// The group's committed positions (next offsets) when counted.
    committed: Vec<i64>,
    /// The input's end offsets.
    ends: Vec<i64>,
    /// Whether the group committed the whole input.
    settled: bool,
}

impl Count {
    /// Reads the input (`produced` distinct numbers, once the load was acknowledged) to find
    /// its end, waits until the group committed the whole input or `patience`, then
    /// reads the output until every number of the input is there or none came for `quiet`.
    fn settle(
        broker: &Broker,
        produced: u64,
        patience: Duration,
        quiet: Duration,
    ) -> Result<Count, String> {
        let mut count = Count {
            inputs: vec![0; broker.records as usize],
            outputs: vec![0; broker.records as usize],
            by_offset: vec![Vec::new(); PARTITIONS as usize],
            committed: Vec::new(),
            ends: vec![0; PARTITIONS as usize],
            settled: false,
        };
        let mut input = Reader::new(&broker.bootstrap(), INPUT);
        let (mut distinct, started) = (0, Instant::now());
        loop {
            let records = input.poll(Duration::from_millis(500));
            if records.is_empty() && distinct >= produced {
                break;
            }
            if started.elapsed() > Duration::from_secs(120) {
                return Err(format!(
                    "the input's {produced} records could not be read within 2 minutes \
                     (read {distinct})"
                ));
            }
            for (partition, offset, n) in records {
                distinct += u64::from(count.inputs[n as usize] == 0);
                count.inputs[n as usize] += 1;
                count.by_offset[partition].push((offset, n));
                count.ends[partition] = count.ends[partition].max(offset + 1);
            }
        }

        let probe = &broker.probe;
        let ends = count.ends.clone();
        let committed_all = |committed: &[i64]| committed.iter().zip(&ends).all(|(c, e)| c >= e);
        let settled = within(patience, || {
            let committed = probe.committed()?;
            committed_all(&committed).then_some(committed)
        });
        count.committed = settled
            .or_else(|| probe.committed())
            .unwrap_or_else(|| vec![0; PARTITIONS as usize]);
        count.settled = committed_all(&count.committed);

        let mut output = Reader::new(&broker.bootstrap(), OUTPUT);
        let (mut missing, mut last_news) = (distinct, Instant::now());
        while last_news.elapsed() < quiet {
            let records = output.poll(Duration::from_millis(500));
            if records.is_empty() {
                if missing == 0 {
                    break;
                }
                continue;
            }
            last_news = Instant::now();
            for (_, _, n) in records {
                let n = n as usize;
                missing -= u64::from(count.outputs[n] == 0 && count.inputs[n] > 0);
                count.outputs[n] += 1;
            }
        }
        Ok(count)
    }

    /// Where record `number` is in the input: `partition@offset`s.
    fn whereabouts(&self, number: u64) -> String {
        let places: Vec<String> = self
            .by_offset
            .iter()
            .enumerate()
            .flat_map(|(partition, records)| {
                records
                    .iter()
                    .filter(move |(_, n)| *n == number)
                    .map(move |(offset, _)| format!("{number}@{partition}:{offset}"))
            })
            .collect();
        places.join(",")
    }

    /// Numbers in the input and not in the output.
    fn lost(&self) -> Vec<u64> {
        (0..self.inputs.len() as u64)
            .filter(|&n| self.inputs[n as usize] > 0 && self.outputs[n as usize] == 0)
            .collect()
    }

    /// Numbers committed by the group (below its committed positions) and not in the output.
    fn lost_among_committed(&self) -> Vec<u64> {
        let mut lost: Vec<u64> = self
            .by_offset
            .iter()
            .zip(&self.committed)
            .flat_map(|(records, &committed)| {
                records
                    .iter()
                    .take_while(move |(offset, _)| *offset < committed)
            })
            .map(|&(_, n)| n)
            .filter(|&n| self.outputs[n as usize] == 0)
            .collect();
        lost.sort_unstable();
        lost.dedup();
        lost
    }

    /// Output records beyond the input's copies of their number.
    fn duplicates(&self) -> u64 {
        self.inputs
            .iter()
            .zip(&self.outputs)
            .map(|(&i, &o)| u64::from(o.saturating_sub(i)))
            .sum()
    }

    /// Distinct numbers in the output.
    fn delivered(&self) -> u64 {
        self.outputs.iter().filter(|&&o| o > 0).count() as u64
    }
}

fn kill_riff() -> Row {
    let mut scene = Local::new(Engine::Memory, "pass-through");
    let mut riff = scene.run();
    let load = scene.broker.load();
    let mut report = Report::default();
    load.wait_share(40);
    let mut failures = Vec::new();
    report.fault(
        &scene.broker.probe,
        &load,
        "riff killed and restarted",
        || {
            riff.kill();
            riff = scene.run_again("the restarted riff", &mut failures);
        },
    );
    report.failures.extend(failures);
    let row = report.conclude(ALL[0].fault, &mut scene.broker, load);
    drop(riff);
    row
}

fn kill_function() -> Row {
    let mut scene = Local::new(Engine::Memory, "pass-through");
    let riff = scene.run();
    let load = scene.broker.load();
    let mut report = Report::default();
    load.wait_share(40);
    let pid = riff.function_pid();
    report.fault(&scene.broker.probe, &load, "function killed", || {
        unsafe { libc::kill(pid, libc::SIGKILL) };
    });
    report.conclude(ALL[1].fault, &mut scene.broker, load)
}

/// How long the broker stays down.
const BROKER_DOWN: Duration = Duration::from_secs(2);

fn broker_restart() -> Row {
    let mut scene = Local::new(Engine::Sqlite, "pass-through");
    let _riff = scene.run();
    let load = scene.broker.load();
    let mut report = Report::default();
    load.wait_share(40);
    let broker = &mut scene.broker;
    report.fault(&broker.probe, &load, "broker restarted", || {
        broker.tansu.stop();
        std::thread::sleep(BROKER_DOWN);
        broker.tansu.restart();
    });
    report.conclude(ALL[2].fault, &mut scene.broker, load)
}

/// A second replica joins, so the first one's partitions, with their open windows, are revoked
/// and assigned again; then the second is killed -9.
///
/// tansu 0.6.0 cannot keep two members in a group (reproduced with two plain confluent-kafka
/// consumers): it answers a joining member's JoinGroup late, at a generation the first member
/// has not joined, so the newcomer's SyncGroup is refused and it joins again, forever; the first
/// member's partitions are revoked and assigned every second or two meanwhile. Nor does it
/// expire a member whose session lapsed while the group is stable: the killed replica keeps its
/// share of the partitions. So the second replica never reports running here, and the fault
/// ends as it would in a cluster after the killed pod's restart: the first replica is restarted
/// (a clean shutdown, then a new join round without the dead member).
fn second_replica() -> Row {
    let mut scene = Local::replicas(Engine::Memory, "pass-through");
    let mut first = scene.run();
    let load = scene.broker.load();
    let mut report = Report::default();
    load.wait_share(30);
    let mut second = None;
    report.fault(&scene.broker.probe, &load, "second replica joined", || {
        let joining = Runtime::spawn_with(&[scene.manifests.path()], &scene.args);
        joining.wait_for_log("actor=\"processor\"", Duration::from_secs(30));
        second = Some(joining);
    });
    let mut second = second.expect("started");
    let revoked = first
        .log()
        .iter()
        .filter(|line| line.contains("partitions revoked"))
        .count();
    report.notes.push(format!(
        "the first replica's partitions were revoked {revoked} time(s) while the second joined"
    ));
    load.wait_share(60);
    report.fault(&scene.broker.probe, &load, "second replica killed", || {
        second.kill()
    });
    let mut failures = Vec::new();
    report.fault(
        &scene.broker.probe,
        &load,
        "first replica restarted",
        || {
            if first.terminate(Duration::from_secs(30)) != 0 {
                failures.push("the first replica did not shut down cleanly".to_owned());
            }
            first = scene.run_again("the restarted first replica", &mut failures);
        },
    );
    report.failures.extend(failures);
    let row = report.conclude(ALL[3].fault, &mut scene.broker, load);
    drop(first);
    row
}

fn rebuild_before_commit() -> Row {
    let mut scene = Local::new(Engine::Sqlite, "pass-through");
    let riff = scene.run();
    let load = scene.broker.load();
    let mut report = Report::default();
    // Half a second into the load: well before the first 2 s window closes, so before riff
    // committed any window.
    load.wait_sent(scene.broker.rate / 2);
    let broker = &mut scene.broker;
    report.fault(
        &broker.probe,
        &load,
        "broker restarted before the first commit",
        || {
            broker.tansu.stop();
            std::thread::sleep(BROKER_DOWN / 2);
            broker.tansu.restart();
        },
    );
    let rebuilt = riff
        .log()
        .into_iter()
        .filter(|line| line.contains("actor=\"processor\"") && line.contains("restarting"))
        .count();
    report
        .notes
        .push(format!("the pipeline was rebuilt {rebuilt} time(s)"));
    report.conclude(ALL[4].fault, &mut scene.broker, load)
}
